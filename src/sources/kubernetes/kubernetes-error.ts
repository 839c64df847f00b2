/** A call to the Kubernetes API failed; `reason` is a stable code for logs, /readyz and /debug/state. */
export class KubernetesError extends Error {
  override readonly name = 'KubernetesError';
  /** forbidden, unauthorized, not-found, conflict, unsupported-media-type, http-5xx, http-status, timeout, connection-error, invalid-response, cluster-label-missing. */
  readonly reason: string;
  /** The API server's HTTP status; null when no answer came. */
  readonly httpStatus: number | null;

  constructor(message: string, reason: string, httpStatus: number | null, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
    this.httpStatus = httpStatus;
  }
}

/** The stable reason code for an HTTP status the API server answered with. */
export function reasonForStatus(status: number): string {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    case 415:
      return 'unsupported-media-type';
    default:
      return status >= 500 ? 'http-5xx' : 'http-status';
  }
}
