/**
 * Every word the main process shows (tray, notifications, dialogs) in the app's two languages, English and 简体中文,
 * chosen like the window's: the `language` setting, where 'system' follows the OS locale (Chinese locales → zh-CN).
 * The window has its own catalogue (renderer/); this one is for what Electron draws outside it.
 */
import type { LanguageDto } from '../ipc/contract.js';

export type ShellLanguage = 'en' | 'zh-CN';

export function shellLanguage(setting: LanguageDto, osLocale: string): ShellLanguage {
  if (setting === 'en' || setting === 'zh-CN') return setting;
  return /^zh\b/i.test(osLocale) ? 'zh-CN' : 'en';
}

export interface ShellText {
  // tray
  signedOut: string;
  offline: string;
  upToDate: string;
  pausedUntil(clock: string, mins: number): string;
  uploading(files: number, percent: number | null, rate: string | null): string;
  /** only downloads run (a two-way pair's) */
  downloading(files: number, percent: number | null, rate: string | null): string;
  /** uploads and downloads run */
  transferring(files: number, percent: number | null, rate: string | null): string;
  syncing(percent: number | null): string;
  waiting(n: number): string;
  paused(n: number): string;
  failed(n: number): string;
  foldersNeedAttention(n: number): string;
  /** files of sync folders not on the server ("3 files not backed up") */
  notBackedUp(n: number): string;
  tooltip(line: string): string;
  menuOpen: string;
  menuPauseAll: string;
  menuPauseHour: string;
  menuResumeAll: string;
  menuSyncNow: string;
  menuOpenFolder: string;
  menuQuit: string;
  separator: string;
  // notifications
  loginExpiredTitle: string;
  loginExpiredBody(email: string): string;
  signIn: string;
  couldNotUpload(name: string): string;
  uploadFailedBody: string;
  manyFailedTitle(n: number): string;
  manyFailedBody(names: string[], more: number): string;
  conflictTitle: string;
  conflictBody(relPath: string): string;
  conflictsTitle(n: number): string;
  conflictsBody: string;
  uploadedTitle(what: string): string;
  uploadedBody(files: number, where: string, skipped: number): string;
  items(n: number): string;
  myFiles: string;
  copyShareLink: string;
  finishedWithProblems(what: string): string;
  finished(what: string): string;
  partBody(uploaded: number, total: number, where: string, failed: number, cancelled: number): string;
  moreUpdates(n: number): string;
  shareLinkCopied: string;
  // the window and dialogs
  trayNoticeTitle: string;
  trayNoticeBody: string;
  plainStorageMessage: string;
  plainStorageDetail(why: string): string;
  keepForSession: string;
  storeAnyway: string;
  noSecureStorage: string;
  noKeyring: string;
  shareLinkFailed: string;
  queueFailed: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const en: ShellText = {
  signedOut: 'Signed out',
  offline: 'Offline: waiting for the server',
  upToDate: 'Up to date',
  pausedUntil: (clock, mins) => `Paused until ${clock} (${mins} min)`,
  uploading: (files, percent, rate) => `Uploading ${plural(files, 'file')}${percent !== null ? ` (${percent}%)` : ''}${rate ? ` · ${rate}` : ''}`,
  downloading: (files, percent, rate) => `Downloading ${plural(files, 'file')}${percent !== null ? ` (${percent}%)` : ''}${rate ? ` · ${rate}` : ''}`,
  transferring: (files, percent, rate) => `Transferring ${plural(files, 'file')}${percent !== null ? ` (${percent}%)` : ''}${rate ? ` · ${rate}` : ''}`,
  syncing: (percent) => `Syncing${percent !== null ? ` (${percent}%)` : ''}`,
  waiting: (n) => `${n} waiting`,
  paused: (n) => `${n} paused`,
  failed: (n) => `${n} failed`,
  foldersNeedAttention: (n) => `${plural(n, 'folder')} need${n === 1 ? 's' : ''} attention`,
  notBackedUp: (n) => `${plural(n, 'file')} not backed up`,
  tooltip: (line) => `Cloudreve Sync — ${line}`,
  menuOpen: 'Open Cloudreve Sync',
  menuPauseAll: 'Pause all',
  menuPauseHour: 'Pause for 1 hour',
  menuResumeAll: 'Resume all',
  menuSyncNow: 'Sync now',
  menuOpenFolder: 'Open folder',
  menuQuit: 'Quit Cloudreve Sync',
  separator: ', ',
  loginExpiredTitle: 'Signed out of Cloudreve',
  loginExpiredBody: (email) => `The login of ${email || 'your account'} expired. Uploads wait until you sign in again.`,
  signIn: 'Sign in',
  couldNotUpload: (name) => `Could not upload ${name}`,
  uploadFailedBody: 'The upload failed.',
  manyFailedTitle: (n) => `${n} files could not be uploaded`,
  manyFailedBody: (names, more) => `${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}. Open Cloudreve Sync to see why and retry.`,
  conflictTitle: 'A file changed on both sides',
  conflictBody: (relPath) => `${relPath}: both versions were kept.`,
  conflictsTitle: (n) => `${n} files changed on both sides`,
  conflictsBody: 'Both versions of each were kept. Open Cloudreve Sync to review them.',
  uploadedTitle: (what) => `Uploaded ${what}`,
  uploadedBody: (files, where, skipped) => `${plural(files, 'file')} in ${where}${skipped > 0 ? ` (${skipped} already there)` : ''}.`,
  items: (n) => `${n} items`,
  myFiles: 'My files',
  copyShareLink: 'Copy share link',
  finishedWithProblems: (what) => `Upload of ${what} finished with problems`,
  finished: (what) => `Upload of ${what} finished`,
  partBody: (uploaded, total, where, failed, cancelled) =>
    [`${uploaded} of ${total} uploaded to ${where}`, ...(failed > 0 ? [`${failed} failed`] : []), ...(cancelled > 0 ? [`${cancelled} cancelled`] : [])].join(', ') + '.',
  moreUpdates: (n) => `${n} more updates from Cloudreve Sync`,
  shareLinkCopied: 'Share link copied',
  trayNoticeTitle: 'Cloudreve Sync is still running',
  trayNoticeBody: 'It keeps uploading in the background. Open it again from the tray icon; quit it from the tray menu.',
  plainStorageMessage: 'Store your Cloudreve login without encryption?',
  plainStorageDetail: (why) =>
    `${why}\n\nStore it anyway: you stay signed in after a restart; the login is kept in a file only your user account can read, ` +
    'but anyone with access to that file (a backup, an administrator) could use it.\n' +
    'Keep it for this session: you will have to sign in again after quitting Cloudreve Sync.',
  keepForSession: 'Keep it for this session',
  storeAnyway: 'Store it anyway',
  noSecureStorage: 'This system offers no secure storage (no OS keychain is available to Cloudreve Sync).',
  noKeyring: 'No keyring (GNOME Keyring, KWallet or another Secret Service) is running, so the login could only be stored with a publicly known key.',
  shareLinkFailed: 'Cloudreve Sync could not create a share link',
  queueFailed: 'Cloudreve Sync could not queue the upload',
};

const zhCN: ShellText = {
  signedOut: '未登录',
  offline: '离线：正在等待服务器',
  upToDate: '已是最新',
  pausedUntil: (clock, mins) => `已暂停至 ${clock}（${mins} 分钟）`,
  uploading: (files, percent, rate) => `正在上传 ${files} 个文件${percent !== null ? `（${percent}%）` : ''}${rate ? ` · ${rate}` : ''}`,
  downloading: (files, percent, rate) => `正在下载 ${files} 个文件${percent !== null ? `（${percent}%）` : ''}${rate ? ` · ${rate}` : ''}`,
  transferring: (files, percent, rate) => `正在传输 ${files} 个文件${percent !== null ? `（${percent}%）` : ''}${rate ? ` · ${rate}` : ''}`,
  syncing: (percent) => `正在同步${percent !== null ? `（${percent}%）` : ''}`,
  waiting: (n) => `${n} 个等待中`,
  paused: (n) => `${n} 个已暂停`,
  failed: (n) => `${n} 个失败`,
  foldersNeedAttention: (n) => `${n} 个文件夹需要处理`,
  notBackedUp: (n) => `${n} 个文件未备份`,
  tooltip: (line) => `Cloudreve Sync — ${line}`,
  menuOpen: '打开 Cloudreve Sync',
  menuPauseAll: '全部暂停',
  menuPauseHour: '暂停 1 小时',
  menuResumeAll: '全部继续',
  menuSyncNow: '立即同步',
  menuOpenFolder: '打开文件夹',
  menuQuit: '退出 Cloudreve Sync',
  separator: '，',
  loginExpiredTitle: '已退出 Cloudreve 登录',
  loginExpiredBody: (email) => `${email || '你的账号'}的登录已过期。重新登录前，上传将暂停等待。`,
  signIn: '登录',
  couldNotUpload: (name) => `无法上传 ${name}`,
  uploadFailedBody: '上传失败。',
  manyFailedTitle: (n) => `${n} 个文件无法上传`,
  manyFailedBody: (names, more) => `${names.join('、')}${more > 0 ? ` 等另外 ${more} 个` : ''}。打开 Cloudreve Sync 查看原因并重试。`,
  conflictTitle: '文件在两端都被修改',
  conflictBody: (relPath) => `${relPath}：两个版本都已保留。`,
  conflictsTitle: (n) => `${n} 个文件在两端都被修改`,
  conflictsBody: '每个文件的两个版本都已保留。打开 Cloudreve Sync 查看。',
  uploadedTitle: (what) => `已上传 ${what}`,
  uploadedBody: (files, where, skipped) => `${files} 个文件已上传到 ${where}${skipped > 0 ? `（${skipped} 个已存在）` : ''}。`,
  items: (n) => `${n} 个项目`,
  myFiles: '我的文件',
  copyShareLink: '复制分享链接',
  finishedWithProblems: (what) => `${what} 上传完成，但有问题`,
  finished: (what) => `${what} 上传完成`,
  partBody: (uploaded, total, where, failed, cancelled) =>
    [`${total} 个中 ${uploaded} 个已上传到 ${where}`, ...(failed > 0 ? [`${failed} 个失败`] : []), ...(cancelled > 0 ? [`${cancelled} 个已取消`] : [])].join('，') + '。',
  moreUpdates: (n) => `Cloudreve Sync 还有 ${n} 条更新`,
  shareLinkCopied: '分享链接已复制',
  trayNoticeTitle: 'Cloudreve Sync 仍在运行',
  trayNoticeBody: '它会在后台继续上传。可从托盘图标再次打开，从托盘菜单退出。',
  plainStorageMessage: '要以不加密的方式保存你的 Cloudreve 登录吗？',
  plainStorageDetail: (why) =>
    `${why}\n\n仍然保存：重启后保持登录；登录信息保存在只有你的用户账户可读的文件中，但能访问该文件的人（备份、管理员）可以使用它。\n` +
    '仅本次使用：退出 Cloudreve Sync 后需要重新登录。',
  keepForSession: '仅本次使用',
  storeAnyway: '仍然保存',
  noSecureStorage: '此系统没有可供 Cloudreve Sync 使用的安全存储（系统钥匙串）。',
  noKeyring: '没有正在运行的密钥环（GNOME Keyring、KWallet 或其他 Secret Service），登录信息只能用公开已知的密钥保存。',
  shareLinkFailed: 'Cloudreve Sync 无法创建分享链接',
  queueFailed: 'Cloudreve Sync 无法加入上传',
};

export const SHELL_TEXT: Readonly<Record<ShellLanguage, ShellText>> = { en, 'zh-CN': zhCN };
