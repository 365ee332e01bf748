/**
 * Sign-in: server address, email, password, and a one-time code once the server asks for one
 * (error code 'otp-required'); or "Sign in with browser" (OAuth, loginWithBrowser), whose URL arrives as
 * 'browser-login-started' and is shown as a link. Errors are shown in the form in the user's words
 * (signInErrorText); the password never leaves this form's submit.
 */
import type { ErrorData } from '../../main/ipc/contract.js';
import type { Translator } from '../i18n/translator.js';
import { signInErrorText } from '../state/sign-in-errors.js';
import { button, el, field, setText } from './element.js';

export interface LoginForm {
  server: string;
  email: string;
  password: string;
  otp?: string;
}

export interface LoginActions {
  login(form: LoginForm): Promise<ErrorData | null>;
  loginWithBrowser(server: string): Promise<ErrorData | null>;
}

export interface LoginView {
  readonly element: HTMLElement;
  /** Clears the password and code (after sign-out or a successful sign-in). */
  reset(): void;
  /** The browser sign-in page to open (from 'browser-login-started'). */
  showBrowserUrl(url: string): void;
}

export function createLoginView(tr: Translator, actions: LoginActions): LoginView {
  const server = el('input', { attrs: { name: 'server', type: 'url', required: '', placeholder: 'https://cloud.example.com', autocomplete: 'url' } });
  const email = el('input', { attrs: { name: 'email', type: 'email', required: '', autocomplete: 'username' } });
  const password = el('input', { attrs: { name: 'password', type: 'password', required: '', autocomplete: 'current-password' } });
  const otp = el('input', { attrs: { name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}' } });
  const otpField = field(tr.t('login.otp'), otp, tr.t('login.otpHint'));
  otpField.hidden = true;
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
  const submit = el('button', { class: 'btn btn-primary', text: tr.t('login.submit'), attrs: { type: 'submit' } });
  const browserButton = button(tr.t('login.browser'));
  const browserLink = el('a', { class: 'browser-link', text: tr.t('login.browserOpenLink'), attrs: { target: '_blank', rel: 'noopener noreferrer' } });
  const browserStatus = el('p', { class: 'browser-login', attrs: { role: 'status' }, hidden: true }, [el('span', { class: 'browser-waiting' }), ' ', browserLink]);
  const form = el('form', { class: 'login-form', attrs: { 'aria-label': tr.t('login.form') } }, [
    field(tr.t('login.server'), server),
    field(tr.t('login.email'), email),
    field(tr.t('login.password'), password),
    otpField,
    message,
    submit,
    el('div', { class: 'login-or' }, [el('span', { text: tr.t('login.or') })]),
    browserButton,
    el('p', { class: 'field-hint', text: tr.t('login.browserHint') }),
    browserStatus,
  ]);
  const element = el('section', { class: 'login' }, [el('h1', { text: tr.t('login.title') }), el('p', { class: 'lead', text: tr.t('login.lead') }), form]);

  const showError = (text: string): void => {
    setText(message, text);
    message.hidden = text === '';
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    showError('');
    const otpValue = otpField.hidden ? undefined : otp.value.trim() || undefined;
    void actions
      .login({ server: server.value.trim(), email: email.value.trim(), password: password.value, otp: otpValue })
      .then((error) => {
        if (!error) return;
        if (error.code === 'otp-required') {
          otpField.hidden = false;
          otp.focus();
        } else if (error.code === 'invalid-password') password.select();
        showError(signInErrorText(error, tr));
      })
      .finally(() => {
        submit.disabled = false;
      });
  });

  browserButton.addEventListener('click', () => {
    const address = server.value.trim();
    if (!address) {
      showError(tr.t('login.serverRequired'));
      server.focus();
      return;
    }
    showError('');
    browserButton.disabled = true;
    setText(browserStatus.firstChild!, tr.t('login.browserWaiting'));
    browserLink.hidden = true;
    browserStatus.hidden = false;
    void actions
      .loginWithBrowser(address)
      .then((error) => {
        browserStatus.hidden = true;
        if (error) showError(signInErrorText(error, tr));
      })
      .finally(() => {
        browserButton.disabled = false;
      });
  });

  return {
    element,
    reset() {
      password.value = '';
      otp.value = '';
      otpField.hidden = true;
      browserStatus.hidden = true;
      showError('');
    },
    showBrowserUrl(url) {
      // only http(s) links are offered (the URL comes from the engine, built from the server address)
      if (!/^https?:\/\//i.test(url)) return;
      browserLink.href = url;
      browserLink.title = url;
      browserLink.hidden = false;
      setText(browserStatus.firstChild!, tr.t('login.browserOpen', { url: new URL(url).host }));
      browserStatus.hidden = false;
    },
  };
}
