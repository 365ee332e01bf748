/** PURE: how paths and Cloudreve URIs are shown to people (display only; calls carry them as they came). */

/**
 * A Cloudreve URI as people read it: percent-escapes decoded ('cloudreve://my/My%20Files' → 'cloudreve://my/My Files').
 * Display only: calls always carry the URI as the engine gave it. A malformed escape leaves the text as it is.
 */
export function displayUri(uri: string): string {
  if (!uri.includes('%')) return uri;
  try {
    return decodeURIComponent(uri);
  } catch {
    return uri;
  }
}

/** The last segment of a path or URI, for short labels ('/home/ann/Photos' → 'Photos'). */
export function lastSegment(pathOrUri: string): string {
  const trimmed = pathOrUri.replace(/[/\\]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i >= 0 ? trimmed.slice(i + 1) || trimmed : trimmed;
}
