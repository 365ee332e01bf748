// Share links (not in the spec; read from SERVER routers/router.go, service/share/manage.go, pkg/filemanager/manager/
// operation.go CreateOrUpdateShare, pkg/cluster/routes MasterShareUrl):
//   PUT /api/v4/share {uri (required), is_private, password (≤32, alphanumeric), downloads, expire (s), share_view,
//   show_readme} → data: "<site URL>/s/<share id>[/<password>]". A new share on every call (no existing id).
//   The root or a missing path → 404 "src file not found" (the server wraps every lookup failure so);
//   a private share without a password gets a random 8-letter one.
import { randomInt } from 'node:crypto';
import { type Ctx, type Router, bool, int, readJson, requireUser, str } from './http.js';
import type { Core } from './state.js';
import { ApiError, E, parseUri } from './util.js';
import { walk } from './upload.js';

export interface ShareRec {
  id: string;
  uri: string;
  password: string;
  downloads: number;
  /** ms since the epoch; null = never */
  expires: number | null;
}

const shares = new WeakMap<Core, ShareRec[]>();

export function sharesOf(core: Core): ShareRec[] {
  let list = shares.get(core);
  if (!list) shares.set(core, (list = []));
  return list;
}

function randomLetters(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String.fromCharCode(97 + randomInt(26));
  return out;
}

async function createShare(ctx: Ctx): Promise<unknown> {
  const user = requireUser(ctx);
  const body = await readJson(ctx);
  const uriStr = str(body.uri, 'Uri', true);
  const isPrivate = bool(body.is_private);
  let password = str(body.password, 'Password');
  if (password.length > 32 || !/^[A-Za-z0-9]*$/.test(password)) throw E.param("Key: 'ShareCreateService.Password' Error:Field validation for 'Password' failed on the 'alphanum' tag");
  const downloads = int(body.downloads);
  const expire = int(body.expire);
  bool(body.share_view);
  bool(body.show_readme);
  let p;
  try {
    p = parseUri(uriStr);
  } catch {
    throw E.param('unknown uri');
  }
  if (p.fs !== 'my' || (p.owner && p.owner !== user.hashid)) throw new ApiError(404, 'src file not found');
  const node = p.segs.length === 0 ? null : walkOrNull(ctx.core, user, p.segs);
  if (!node) throw new ApiError(404, 'src file not found');
  if (!isPrivate) password = '';
  else if (password.trim() === '') password = randomLetters(8);
  const list = sharesOf(ctx.core);
  const rec: ShareRec = {
    id: `S${(list.length + 1).toString(36)}${randomLetters(3)}`,
    uri: uriStr,
    password,
    downloads,
    expires: expire > 0 ? Date.now() + expire * 1000 : null,
  };
  list.push(rec);
  return `${ctx.core.baseUrl}/s/${rec.id}${password ? `/${password}` : ''}`;
}

function walkOrNull(core: Core, user: Parameters<typeof walk>[1], segs: string[]) {
  try {
    return walk(core, user, segs);
  } catch {
    return null;
  }
}

export function registerShare(r: Router): void {
  r.add('PUT', '/api/v4/share', createShare);
}
