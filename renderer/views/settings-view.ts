/** A small settings panel: default target folder, bandwidth limit, and the file manager menu entry. */
import type { ErrorData, SettingsDto } from '../../main/ipc/contract.js';
import { el, setText } from './element.js';

export interface SettingsView {
  readonly element: HTMLElement;
  open(settings: SettingsDto): void;
  close(): void;
}

export function createSettingsView(save: (patch: Partial<SettingsDto>) => Promise<ErrorData | null>): SettingsView {
  const target = el('input', { attrs: { name: 'defaultTargetFolderUri', required: '', pattern: 'cloudreve://\\S*' } });
  const limit = el('input', { attrs: { name: 'bandwidthLimit', type: 'number', min: '0', step: '1' } });
  const shellMenu = el('input', { attrs: { name: 'shellIntegration', type: 'checkbox' } });
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
  const cancel = el('button', { class: 'btn btn-quiet', text: 'Cancel', attrs: { type: 'button' } });
  const form = el('form', { class: 'settings-form', attrs: { 'aria-label': 'Settings' } }, [
    el('h2', { text: 'Settings' }),
    el('label', { class: 'field' }, [el('span', { class: 'field-label', text: 'Upload to folder' }), target]),
    el('label', { class: 'field' }, [
      el('span', { class: 'field-label', text: 'Upload limit (KB/s)' }),
      limit,
      el('span', { class: 'field-hint', text: '0 means no limit.' }),
    ]),
    el('label', { class: 'field field-check' }, [shellMenu, el('span', { text: 'Show “Upload to Cloudreve” in the file manager' })]),
    message,
    el('div', { class: 'form-actions' }, [cancel, el('button', { class: 'btn btn-primary', text: 'Save', attrs: { type: 'submit' } })]),
  ]);
  const element = el('section', { class: 'settings', hidden: true }, [form]);

  const close = (): void => {
    element.hidden = true;
  };
  cancel.addEventListener('click', close);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const kb = Math.max(0, Math.floor(Number(limit.value) || 0));
    void save({ defaultTargetFolderUri: target.value.trim(), bandwidthLimit: kb * 1024, shellIntegration: shellMenu.checked }).then(
      (error) => {
        setText(message, error ? error.message : '');
        message.hidden = !error;
        if (!error) close();
      },
    );
  });

  return {
    element,
    open(s) {
      target.value = s.defaultTargetFolderUri;
      limit.value = String(Math.round(s.bandwidthLimit / 1024));
      shellMenu.checked = s.shellIntegration;
      message.hidden = true;
      element.hidden = false;
      target.focus();
    },
    close,
  };
}
