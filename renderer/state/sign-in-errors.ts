/**
 * PURE: the sign-in form's message for an engine error code (main/engine/errors.ts). Wrong password, not a
 * Cloudreve v4 server and unreachable each get their own words; anything else shows the engine's message.
 */
import type { ErrorData } from '../../main/ipc/contract.js';
import type { Translator } from '../i18n/translator.js';

export function signInErrorText(err: ErrorData, tr: Translator): string {
  switch (err.code) {
    case 'invalid-password':
    case 'otp-required':
    case 'otp-invalid':
    case 'not-cloudreve':
    case 'unsupported-version':
    case 'account-disabled':
    case 'captcha-required':
    case 'unsupported-feature':
      return tr.t(`login.error.${err.code}`);
    // an answer that is not Cloudreve's envelope (an HTML page, a 404 from another web server)
    case 'bad-response':
    case 'http-status':
      return tr.t('login.error.not-cloudreve');
    case 'network':
    case 'timeout':
    case 'ipc':
      return tr.t('login.error.unreachable', { message: err.message });
    case 'usage':
    case 'invalid-argument':
      return tr.t('login.error.usage', { message: err.message });
    default:
      return tr.t('login.error.failed', { message: err.message || err.code });
  }
}
