/**
 * The settings panel: default target folder, bandwidth limit, files and parts in flight, what to do when a file exists,
 * and the file manager menu entry. Every change applies at once (to uploads that start from then on).
 */
import type { ErrorData, IfExistsDto, SettingsDto } from '../../main/ipc/contract.js';
import { el, setText } from './element.js';

export interface SettingsView {
  readonly element: HTMLElement;
  open(settings: SettingsDto): void;
  close(): void;
}

export function createSettingsView(save: (patch: Partial<SettingsDto>) => Promise<ErrorData | null>): SettingsView {
  const target = el('input', { attrs: { name: 'defaultTargetFolderUri', required: '', pattern: 'cloudreve://\\S*' } });
  const limit = el('input', { attrs: { name: 'bandwidthLimit', type: 'number', min: '0', step: '1' } });
  const files = el('input', { attrs: { name: 'maxActiveFiles', type: 'number', min: '1', max: '32', step: '1', required: '' } });
  const parts = el('input', { attrs: { name: 'chunkConcurrencyCap', type: 'number', min: '1', max: '32', step: '1', required: '' } });
  const ifExists = el('select', { attrs: { name: 'ifExists' } }, [
    el('option', { text: 'Keep both (add a number to the new one)', attrs: { value: 'rename' } }),
    el('option', { text: 'Replace (the old one stays as a version)', attrs: { value: 'overwrite' } }),
    el('option', { text: 'Skip the new one', attrs: { value: 'skip' } }),
  ]);
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
    el('label', { class: 'field' }, [
      el('span', { class: 'field-label', text: 'Files uploaded at once' }),
      files,
      el('span', { class: 'field-hint', text: 'Small files get 4 more slots on top.' }),
    ]),
    el('label', { class: 'field' }, [
      el('span', { class: 'field-label', text: 'Parts in flight per file' }),
      parts,
      el('span', { class: 'field-hint', text: 'The storage policy may allow fewer.' }),
    ]),
    el('label', { class: 'field' }, [
      el('span', { class: 'field-label', text: 'When a file is already there' }),
      ifExists,
      el('span', { class: 'field-hint', text: 'A file with the same size and date is never uploaded again.' }),
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
    void save({
      defaultTargetFolderUri: target.value.trim(),
      bandwidthLimit: kb * 1024,
      maxActiveFiles: Math.floor(Number(files.value)),
      chunkConcurrencyCap: Math.floor(Number(parts.value)),
      ifExists: ifExists.value as IfExistsDto,
      shellIntegration: shellMenu.checked,
    }).then(
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
      files.value = String(s.maxActiveFiles);
      parts.value = String(s.chunkConcurrencyCap);
      ifExists.value = s.ifExists;
      shellMenu.checked = s.shellIntegration;
      message.hidden = true;
      element.hidden = false;
      target.focus();
    },
    close,
  };
}
