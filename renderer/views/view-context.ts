/** What every screen gets: the translator, the contract (typed `call`), and a way to tell the user something. */
import type { AppInfoDto, MethodArgs, MethodName, MethodValue, Result } from '../../main/ipc/contract.js';
import type { MessageKey, Translator } from '../i18n/translator.js';

export type Call = <K extends MethodName>(name: K, ...args: MethodArgs<K>) => Promise<Result<MethodValue<K>>>;

/** Keys that name an action in "Could not {what}: {message}". */
export type WhatKey = { [K in MessageKey]: K extends `what.${infer W}` ? W : never }[MessageKey];

export interface ViewContext {
  readonly tr: Translator;
  readonly call: Call;
  /** desktop (Electron) or browser (cloudreve-sync ui); null until getAppInfo answered */
  readonly info: AppInfoDto | null;
  notify(message: string): void;
  /** The value of a Result, or null after telling the user "Could not <what>: <message>". */
  check<T>(r: Result<T>, what: WhatKey): T | null;
  /** True for a success; otherwise tells the user "Could not <what>: <message>" (for methods that answer null). */
  ok(r: Result<unknown>, what: WhatKey): boolean;
}
