/**
 * A modal dialog (<dialog> with showModal: focus stays inside, Escape closes it). `openDialog` resolves with
 * the value its body settles on, or null when it is closed (Escape, Cancel).
 */
import { button, el } from './element.js';

export interface DialogHandle<T> {
  readonly dialog: HTMLDialogElement;
  /** closes the dialog and resolves with value */
  settle(value: T | null): void;
}

export function openDialog<T>(
  title: string,
  build: (handle: DialogHandle<T>) => { body: Node[]; actions: HTMLButtonElement[] },
  cancelText: string,
  className = '',
): Promise<T | null> {
  return new Promise((resolve) => {
    const dialog = el('dialog', { class: `dialog ${className}`.trim(), attrs: { 'aria-label': title } });
    let done = false;
    const settle = (value: T | null): void => {
      if (done) return;
      done = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(value);
    };
    const { body, actions } = build({ dialog, settle });
    const cancel = button(cancelText, { class: 'btn-quiet' });
    cancel.addEventListener('click', () => settle(null));
    dialog.append(el('h2', { class: 'dialog-title', text: title }), ...body, el('div', { class: 'form-actions' }, [cancel, ...actions]));
    dialog.addEventListener('close', () => settle(null));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Yes/no; resolves true only for the explicit yes. `extra` goes under the message (e.g. the paths it concerns). */
export async function confirmDialog(title: string, message: string, okText: string, cancelText: string, danger = false, extra: Node[] = []): Promise<boolean> {
  const answer = await openDialog<true>(
    title,
    (h) => {
      const ok = button(okText, { class: danger ? 'btn-danger' : 'btn-primary' });
      ok.addEventListener('click', () => h.settle(true));
      queueMicrotask(() => ok.focus());
      return { body: [el('p', { class: 'dialog-message', text: message }), ...extra], actions: [ok] };
    },
    cancelText,
    'dialog-confirm',
  );
  return answer === true;
}

/** Closes every open dialog (the view is being rebuilt, e.g. for another language). */
export function closeDialogs(): void {
  for (const d of Array.from(document.querySelectorAll('dialog.dialog'))) (d as HTMLDialogElement).close();
}
