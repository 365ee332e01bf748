// A module-resolution hook for tests: posts the URL of every module resolved from now on to the port passed
// as `data` (register it with node:module's register()). Used to check what a CLI command loads.
let port;
export function initialize(data) {
  port = data.port;
}
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  port.postMessage(r.url);
  return r;
}
