/** The transport-neutral request the pipeline reads, built by the HTTP adapter. */
export interface RpcRequest {
  readonly method: string;
  /** Path and query exactly as received. */
  readonly url: string;
  /** Every value a header was sent with; the name is lower-case. */
  readonly header: (name: string) => readonly string[];
  readonly body: Buffer;
  readonly remoteAddress: string;
  readonly secure: boolean;
}
