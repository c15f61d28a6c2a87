/** The aiaas TypeScript SDK: `new AiaasClient({url, apiKey})`. Works in Node 20 and browsers. */
export { AiaasClient, ApiError, parseSse } from './client.js';
export type { ChatMessage, ChatOptions, ChatPiece, ClientOptions, RequestOptions, UploadBody, UploadOptions } from './client.js';
export type * from './types.js';
