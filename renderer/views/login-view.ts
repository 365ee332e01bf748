/**
 * Sign-in: server address, email, password, and a one-time code once the server asks for one
 * (error code 'otp-required'). Errors are shown in the form; the password never leaves this form's submit.
 */
import type { ErrorData } from '../../main/ipc/contract.js';
import { el, setText } from './element.js';

export interface LoginForm {
  server: string;
  email: string;
  password: string;
  otp?: string;
}

export interface LoginView {
  readonly element: HTMLElement;
  /** Clears the password and code (after sign-out or a successful sign-in). */
  reset(): void;
}

function field(label: string, input: HTMLInputElement, hint?: string): HTMLElement {
  const children: Array<Node | string> = [el('span', { class: 'field-label', text: label }), input];
  if (hint) children.push(el('span', { class: 'field-hint', text: hint }));
  return el('label', { class: 'field' }, children);
}

export function createLoginView(submit: (form: LoginForm) => Promise<ErrorData | null>): LoginView {
  const server = el('input', { attrs: { name: 'server', type: 'url', required: '', placeholder: 'https://cloud.example.com', autocomplete: 'url' } });
  const email = el('input', { attrs: { name: 'email', type: 'email', required: '', autocomplete: 'username' } });
  const password = el('input', { attrs: { name: 'password', type: 'password', required: '', autocomplete: 'current-password' } });
  const otp = el('input', { attrs: { name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}' } });
  const otpField = field('Two-factor code', otp, 'Enter the 6-digit code from your authenticator app.');
  otpField.hidden = true;
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
  const button = el('button', { class: 'btn btn-primary', text: 'Sign in', attrs: { type: 'submit' } });
  const form = el('form', { class: 'login-form', attrs: { 'aria-label': 'Sign in' } }, [
    field('Server', server),
    field('Email', email),
    field('Password', password),
    otpField,
    message,
    button,
  ]);
  const element = el('section', { class: 'login' }, [
    el('h1', { text: 'Sign in to your Cloudreve server' }),
    el('p', { class: 'lead', text: 'Cloudreve Sync keeps your local folders backed up to a Cloudreve v4 server.' }),
    form,
  ]);

  const showError = (text: string): void => {
    setText(message, text);
    message.hidden = text === '';
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    showError('');
    const otpValue = otpField.hidden ? undefined : otp.value.trim() || undefined;
    void submit({ server: server.value.trim(), email: email.value.trim(), password: password.value, otp: otpValue })
      .then((error) => {
        if (!error) return;
        if (error.code === 'otp-required') {
          otpField.hidden = false;
          otp.focus();
          showError('This account uses two-factor authentication.');
        } else {
          showError(error.message || 'Sign-in failed.');
        }
      })
      .finally(() => {
        button.disabled = false;
      });
  });

  return {
    element,
    reset() {
      password.value = '';
      otp.value = '';
      otpField.hidden = true;
      showError('');
    },
  };
}
