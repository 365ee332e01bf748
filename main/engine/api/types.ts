/**
 * Wire DTOs of the Cloudreve v4 API (spec: shared/spec/cloudreve-v4-protocol.md).
 * Field names are exactly the server's JSON names.
 */

export interface Envelope<T = unknown> {
  code: number;
  data?: T;
  msg: string;
  error?: string;
  correlation_id?: string;
  aggregated_error?: Record<string, Envelope>;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  /** RFC 3339 */
  access_expires: string;
  /** RFC 3339 */
  refresh_expires: string;
}

export interface User {
  id: string;
  email?: string;
  nickname: string;
  status?: string;
  avatar?: string;
  created_at: string;
  anonymous?: boolean;
  group?: { id: string; name: string; permission?: string };
  [k: string]: unknown;
}

export interface LoginResult {
  user: User;
  token: TokenPair;
}

export interface Capacity {
  total: number;
  used: number;
}

export type PolicyType = 'local' | 'remote' | 'oss' | 'qiniu' | 'onedrive' | 'cos' | 'upyun' | 's3' | 'ks3' | 'obs';
export const POLICY_TYPES: readonly PolicyType[] = ['local', 'remote', 'oss', 'qiniu', 'onedrive', 'cos', 'upyun', 's3', 'ks3', 'obs'];

export interface StoragePolicy {
  id: string;
  name: string;
  type: PolicyType;
  /** 0 = unlimited */
  max_size: number;
  allowed_suffix?: string[];
  denied_suffix?: string[];
  allowed_name_regexp?: string;
  denied_name_regexp?: string;
  relay?: boolean;
  chunk_concurrency?: number;
  encryption?: boolean;
}

export interface FileResponse {
  /** 0 file, 1 folder */
  type: 0 | 1;
  id: string;
  name: string;
  created_at: string;
  updated_at: string;
  size: number;
  metadata: Record<string, string> | null;
  path: string;
  shared?: boolean;
  capability?: string;
  owned?: boolean;
  primary_entity?: string;
  extended_info?: unknown;
  [k: string]: unknown;
}

export interface Pagination {
  page: number;
  page_size: number;
  total_items?: number;
  next_token?: string;
  is_cursor?: boolean;
}

export interface ListResponse {
  files: FileResponse[];
  parent: FileResponse;
  pagination: Pagination;
  props: { capability?: string; max_page_size: number; order_by_options?: string[]; order_direction_options?: string[] };
  context_hint?: string;
  mixed_type?: boolean;
  storage_policy?: StoragePolicy;
  [k: string]: unknown;
}

export type EntityType = '' | 'version' | 'live_photo';

export interface CreateUploadSessionRequest {
  uri: string;
  size: number;
  policy_id?: string;
  /** Unix milliseconds */
  last_modified?: number;
  mime_type?: string;
  entity_type?: EntityType;
  metadata?: Record<string, string>;
  encryption_supported?: string[];
  previous?: string;
}

export interface EncryptMetadata {
  algorithm: 'aes-256-ctr';
  key: null | string;
  /** standard base64 of 32 bytes */
  key_plain_text: string;
  /** standard base64 of 16 bytes */
  iv: string;
}

export interface UploadSession {
  session_id: string;
  upload_id: string;
  /** 0 = one request for the whole file */
  chunk_size: number;
  /** Unix seconds */
  expires: number;
  upload_urls?: string[];
  credential?: string;
  completeURL?: string;
  storage_policy: StoragePolicy;
  uri: string;
  callback_secret: string;
  mime_type?: string;
  upload_policy?: string;
  encrypt_metadata?: EncryptMetadata;
}

export interface DownloadUrlResponse {
  urls: { url: string; stream_saver_display_name?: string }[];
  expires: string | null;
}

export type FsEventType = 'create' | 'modify' | 'rename' | 'delete';
export interface FsEvent {
  type: FsEventType;
  file_id: string;
  from: string;
  to?: string;
}
