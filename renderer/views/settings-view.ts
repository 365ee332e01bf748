/**
 * Settings: uploads (default destination with a folder picker, upload without asking, upload and download limits, files and
 * parts in flight, settle delay, if-exists), the app (shell menu and launch at login: desktop only), and
 * language and theme, which apply the moment they change (the rest on Save).
 */
import type { AppInfoDto, ErrorData, IfExistsDto, LanguageDto, SettingsDto, ThemeDto } from '../../main/ipc/contract.js';
import { LOCALE_NAMES, LOCALES } from '../i18n/translator.js';
import { button, el, field, select, setText } from './element.js';
import { pickDestination, REMOTE_ROOT } from './pickers.js';
import type { ViewContext } from './view-context.js';

export interface SettingsActions {
  save(patch: Partial<SettingsDto>): Promise<ErrorData | null>;
  /** language and theme: saved and applied at once */
  applyLive(patch: Pick<Partial<SettingsDto>, 'language' | 'theme'>): void;
}

export interface SettingsView {
  readonly element: HTMLElement;
  show(settings: SettingsDto, info: AppInfoDto | null): void;
}

function check(name: string, text: string): { label: HTMLLabelElement; input: HTMLInputElement } {
  const input = el('input', { attrs: { name, type: 'checkbox' } });
  return { input, label: el('label', { class: 'field field-check' }, [input, el('span', { text })]) };
}

export function createSettingsView(ctx: ViewContext, actions: SettingsActions): SettingsView {
  const { tr } = ctx;
  const target = el('input', { attrs: { name: 'defaultTargetFolderUri', required: '', pattern: 'cloudreve://\\S*', spellcheck: 'false' } });
  const pickTarget = button(tr.t('action.choose'), { attrs: { 'aria-label': tr.t('pairs.pickRemote') } });
  const withoutAsking = check('uploadWithoutAsking', tr.t('settings.uploadWithoutAsking'));
  const limit = el('input', { attrs: { name: 'bandwidthLimit', type: 'number', min: '0', step: '1' } });
  const downloadLimit = el('input', { attrs: { name: 'downloadBandwidthLimit', type: 'number', min: '0', step: '1' } });
  const files = el('input', { attrs: { name: 'maxActiveFiles', type: 'number', min: '1', max: '32', step: '1', required: '' } });
  const parts = el('input', { attrs: { name: 'chunkConcurrencyCap', type: 'number', min: '1', max: '32', step: '1', required: '' } });
  const settle = el('input', { attrs: { name: 'settleDelay', type: 'number', min: '0.2', max: '600', step: '0.1', required: '' } });
  const ifExists = select('ifExists', (['rename', 'overwrite', 'skip'] as const).map((v) => [v, tr.t(`settings.ifExists.${v}`)] as const));
  const shellMenu = check('shellIntegration', tr.t('settings.shell'));
  const launch = check('launchAtLogin', tr.t('settings.launchAtLogin'));
  const language = select('language', [['system', tr.t('settings.language.system')], ...LOCALES.map((l) => [l, LOCALE_NAMES[l]] as const)]);
  const theme = select('theme', (['system', 'light', 'dark'] as const).map((v) => [v, tr.t(`settings.theme.${v}`)] as const));
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
  const saved = el('span', { class: 'form-ok', attrs: { role: 'status' } });
  const version = el('p', { class: 'field-hint app-version' });
  const appGroup = el('fieldset', { class: 'group' }, [el('legend', { text: tr.t('settings.app') }), shellMenu.label, launch.label]);
  const form = el('form', { class: 'settings-form', attrs: { 'aria-label': tr.t('settings.title') } }, [
    el('fieldset', { class: 'group' }, [
      el('legend', { text: tr.t('settings.appearance') }),
      field(tr.t('settings.language'), language),
      field(tr.t('settings.theme'), theme),
    ]),
    el('fieldset', { class: 'group' }, [
      el('legend', { text: tr.t('settings.uploads') }),
      field(tr.t('settings.target'), el('div', { class: 'input-row' }, [target, pickTarget]), tr.t('settings.targetHint')),
      withoutAsking.label,
      field(tr.t('settings.limit'), limit, tr.t('settings.limitHint')),
      field(tr.t('settings.downloadLimit'), downloadLimit, tr.t('settings.downloadLimitHint')),
      field(tr.t('settings.files'), files, tr.t('settings.filesHint')),
      field(tr.t('settings.parts'), parts, tr.t('settings.partsHint')),
      field(tr.t('settings.settle'), settle, tr.t('settings.settleHint')),
      field(tr.t('settings.ifExists'), ifExists, tr.t('settings.ifExistsHint')),
    ]),
    appGroup,
    message,
    el('div', { class: 'form-actions' }, [saved, el('button', { class: 'btn btn-primary', text: tr.t('action.save'), attrs: { type: 'submit' } })]),
    version,
  ]);
  const element = el('section', { class: 'screen settings-screen', attrs: { 'data-screen': 'settings' } }, [
    el('div', { class: 'screen-toolbar' }, [el('h1', { class: 'screen-title', text: tr.t('settings.title') })]),
    form,
  ]);
  let desktop = true;

  language.addEventListener('change', () => actions.applyLive({ language: language.value as LanguageDto }));
  theme.addEventListener('change', () => actions.applyLive({ theme: theme.value as ThemeDto }));
  pickTarget.addEventListener('click', () => {
    void pickDestination(ctx, { paths: [], lastDestinationUri: null, startUri: target.value || REMOTE_ROOT, purpose: 'choose' }).then((u) => {
      if (u) target.value = u;
    });
  });
  form.addEventListener('input', () => setText(saved, ''));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const kb = Math.max(0, Math.floor(Number(limit.value) || 0));
    const downKb = Math.max(0, Math.floor(Number(downloadLimit.value) || 0));
    const patch: Partial<SettingsDto> = {
      defaultTargetFolderUri: target.value.trim(),
      uploadWithoutAsking: withoutAsking.input.checked,
      bandwidthLimit: kb * 1024,
      downloadBandwidthLimit: downKb * 1024,
      maxActiveFiles: Math.floor(Number(files.value)),
      chunkConcurrencyCap: Math.floor(Number(parts.value)),
      settleDelayMs: Math.round(Number(settle.value) * 1000),
      ifExists: ifExists.value as IfExistsDto,
    };
    if (desktop) {
      patch.shellIntegration = shellMenu.input.checked;
      patch.launchAtLogin = launch.input.checked;
    }
    void actions.save(patch).then((error) => {
      setText(message, error ? error.message : '');
      message.hidden = !error;
      setText(saved, error ? '' : tr.t('settings.saved'));
    });
  });

  return {
    element,
    show(s, info) {
      desktop = info?.mode !== 'browser';
      target.value = s.defaultTargetFolderUri;
      withoutAsking.input.checked = s.uploadWithoutAsking;
      limit.value = String(Math.round(s.bandwidthLimit / 1024));
      downloadLimit.value = String(Math.round((s.downloadBandwidthLimit ?? 0) / 1024));
      files.value = String(s.maxActiveFiles);
      parts.value = String(s.chunkConcurrencyCap);
      settle.value = String(s.settleDelayMs / 1000);
      ifExists.value = s.ifExists;
      shellMenu.input.checked = s.shellIntegration;
      launch.input.checked = s.launchAtLogin;
      language.value = s.language;
      theme.value = s.theme;
      appGroup.hidden = !desktop;
      message.hidden = true;
      setText(version, info ? tr.t('settings.version', { version: info.version, mode: tr.t(`settings.mode.${info.mode}`) }) : '');
    },
  };
}
