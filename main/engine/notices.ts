/**
 * What the engine repaired on its own while opening a home, and the user must hear about once: a damaged journal
 * moved aside and its pairs re-created from their backup (journal/journal.ts), a config.json that could not be read
 * kept beside a new one (config.ts). These happen before an engine exists to emit events (or outside any engine: the
 * CLI's login reads config.json), so they go to one process-wide sink: stderr by default, which is where the CLI
 * reports and what the desktop app's log captures; a host that shows them otherwise sets its own sink.
 */
export type NoticeSink = (message: string) => void;

const toStderr: NoticeSink = (message) => void process.stderr.write(`cloudreve-sync: ${message}\n`);

let sink: NoticeSink = toStderr;

/** Replaces the sink (null: back to stderr); returns the previous one. */
export function setNoticeSink(next: NoticeSink | null): NoticeSink {
  const prev = sink;
  sink = next ?? toStderr;
  return prev;
}

/** Tells the user once. A sink that throws must not stop what is being repaired. */
export function notice(message: string): void {
  try {
    sink(message);
  } catch {
    // nowhere to report it; what was repaired stays repaired and its file is kept
  }
}
