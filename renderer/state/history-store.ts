/**
 * PURE: the history screen's list. Loaded with listHistory(query) (newest first, paged with `before`); a
 * pushed history-added joins the top when it matches the query shown, so the screen never reloads per event.
 */
import type { HistoryEntryDto, HistoryQueryDto } from '../../main/ipc/contract.js';

export const HISTORY_PAGE = 200;

export interface HistoryState {
  readonly query: HistoryQueryDto;
  readonly entries: readonly HistoryEntryDto[];
  /** a full page came back: there may be older entries */
  readonly more: boolean;
  readonly loaded: boolean;
}

export const initialHistoryState: HistoryState = { query: {}, entries: [], more: false, loaded: false };

/** The same test as the engine's: case-insensitive substring of name, local path or target; and the state. */
export function historyMatches(e: HistoryEntryDto, q: HistoryQueryDto): boolean {
  if (q.state && e.state !== q.state) return false;
  const text = (q.text ?? '').trim().toLowerCase();
  if (!text) return true;
  return e.name.toLowerCase().includes(text) || e.localPath.toLowerCase().includes(text) || e.targetUri.toLowerCase().includes(text);
}

/** A page arrived for `query`: the first page replaces, a later one (query.before set) appends. */
export function historyLoaded(state: HistoryState, query: HistoryQueryDto, page: readonly HistoryEntryDto[]): HistoryState {
  const limit = query.limit ?? HISTORY_PAGE;
  const base = query.before !== undefined ? state.entries : [];
  const seen = new Set(base.map((e) => e.id));
  return {
    query: { ...query, before: undefined },
    entries: [...base, ...page.filter((e) => !seen.has(e.id))],
    more: page.length >= limit,
    loaded: true,
  };
}

/** A pushed entry: on top when it matches what is shown (replacing an older entry with its id). */
export function historyAdded(state: HistoryState, entry: HistoryEntryDto): HistoryState {
  if (!state.loaded || !historyMatches(entry, state.query)) return state;
  return { ...state, entries: [entry, ...state.entries.filter((e) => e.id !== entry.id)] };
}

/** The query for the next (older) page. */
export function olderPageQuery(state: HistoryState): HistoryQueryDto {
  const last = state.entries[state.entries.length - 1];
  return { ...state.query, limit: HISTORY_PAGE, before: last ? last.finishedAt : undefined };
}
