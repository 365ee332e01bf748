/**
 * PURE: turns a catalogue key into text for one locale, and formats numbers, bytes, speeds, durations and
 * dates for it. A Translator is made once per language (createTranslator) and handed to the views; switching
 * language makes a new one and the views are built again with it.
 */
import type { LanguageDto } from '../../main/ipc/contract.js';
import { en, type MessageKey } from './en.js';
import { zhCN } from './zh-cn.js';

export type Locale = 'en' | 'zh-CN';
export type { MessageKey };

export const LOCALES: readonly Locale[] = ['en', 'zh-CN'];
/** Each language's own name (never translated: a reader looks for their language in its own words). */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', 'zh-CN': '简体中文' };

export const CATALOGUES: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

/** Keys with plural forms, without their `.one` / `.other` suffix. */
export type PluralKey = { [K in MessageKey]: K extends `${infer B}.one` ? B : never }[MessageKey];

export type Vars = Record<string, string | number>;

export interface Translator {
  readonly locale: Locale;
  t(key: MessageKey, vars?: Vars): string;
  /** The plural form for `count` (Intl.PluralRules), with {count} filled in as a locale number. */
  plural(key: PluralKey, count: number, vars?: Vars): string;
  number(n: number): string;
  /** 1536 → "1.5 KB" (steps of 1024; one decimal below 10, none above). */
  bytes(n: number): string;
  speed(bytesPerSecond: number): string;
  /** 5 → "5s", 125 → "2m 05s", 3720 → "1h 02m"; null, negative or ∞ → "". */
  duration(seconds: number | null): string;
  /** Epoch ms → a short local date and time. */
  dateTime(ms: number): string;
  /** Epoch ms → how long ago or from now, in the largest whole unit: "5 minutes ago", "in 2 hours", "just now" (under 5 s). */
  relative(ms: number, now?: number): string;
}

/** The language to show: the setting, or for 'system' the browser's language (any Chinese → 简体中文). */
export function resolveLocale(setting: LanguageDto, navigatorLanguage: string): Locale {
  if (setting === 'en' || setting === 'zh-CN') return setting;
  return /^zh\b/i.test(navigatorLanguage.trim()) ? 'zh-CN' : 'en';
}

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Replaces {name} placeholders; an unknown placeholder stays visible (a bug shows, rather than vanishing). */
export function fill(template: string, vars: Vars = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

const made = new Map<Locale, Translator>();

/** The translator for a locale (made once: Intl's constructors cost tens of ms on a slow machine). */
export function createTranslator(locale: Locale): Translator {
  let tr = made.get(locale);
  if (!tr) {
    tr = makeTranslator(locale);
    made.set(locale, tr);
  }
  return tr;
}

function makeTranslator(locale: Locale): Translator {
  const catalogue = CATALOGUES[locale];
  // Intl objects are made on first use: each costs milliseconds to build, and a screen may need none of them
  const lazy = <T>(make: () => T): (() => T) => {
    let v: T | undefined;
    return () => (v ??= make());
  };
  const rules = lazy(() => new Intl.PluralRules(locale));
  const integerFormat = lazy(() => new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }));
  const oneDecimalFormat = lazy(() => new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 }));
  const dates = lazy(() => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }));
  const relatives = lazy(() => new Intl.RelativeTimeFormat(locale, { numeric: 'always', style: 'long' }));
  const integer = { format: (n: number) => integerFormat().format(n) };
  const oneDecimal = { format: (n: number) => oneDecimalFormat().format(n) };
  const t = (key: MessageKey, vars?: Vars): string => fill(catalogue[key] ?? en[key] ?? key, vars);
  const pad = (n: number): string => String(n).padStart(2, '0');

  const bytes = (n: number): string => {
    let v = Number.isFinite(n) ? Math.max(0, n) : 0;
    let u = 0;
    while (v >= 1024 && u < BYTE_UNITS.length - 1) {
      v /= 1024;
      u++;
    }
    const tenths = Math.round(v * 10) / 10;
    const text = u === 0 ? integer.format(Math.round(v)) : tenths < 10 ? oneDecimal.format(tenths) : integer.format(Math.round(v));
    return `${text} ${BYTE_UNITS[u]}`;
  };

  return {
    locale,
    t,
    plural(key, count, vars = {}) {
      const form = rules().select(count) === 'one' ? 'one' : 'other';
      return t(`${key}.${form}` as MessageKey, { ...vars, count: integer.format(count) });
    },
    number: (n) => integer.format(n),
    bytes,
    speed: (bps) => `${bytes(bps)}/s`,
    duration(seconds) {
      if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '';
      const s = Math.ceil(seconds);
      if (s < 60) return t('duration.seconds', { s });
      if (s < 3600) return t('duration.minutes', { m: Math.floor(s / 60), ss: pad(s % 60) });
      const h = Math.floor(s / 3600);
      if (h >= 100) return t('duration.days', { d: Math.round(h / 24) });
      return t('duration.hours', { h, mm: pad(Math.floor((s % 3600) / 60)) });
    },
    dateTime: (ms) => dates().format(new Date(ms)),
    relative(ms, now = Date.now()) {
      const s = (ms - now) / 1000;
      const a = Math.abs(s);
      if (a < 5) return t('time.justNow');
      // whole units, rounded towards zero: "59 seconds", then "1 minute" (never "60 seconds" or a jump to "2 minutes")
      const [n, unit]: [number, Intl.RelativeTimeFormatUnit] =
        a < 60 ? [a, 'second'] : a < 3600 ? [a / 60, 'minute'] : a < 86_400 ? [a / 3600, 'hour'] : [a / 86_400, 'day'];
      return relatives().format(Math.sign(s) * Math.floor(n), unit);
    },
  };
}
