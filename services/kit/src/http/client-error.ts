import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { BadRequest, HeaderFieldsTooLarge, HttpProblem, PROBLEM_CONTENT_TYPE } from '../problem.ts';

interface ParseError extends Error {
  code?: string;
  /** What llhttp found wrong, e.g. "Invalid header value char". */
  reason?: string;
}

/** The problem for what node's HTTP parser refused, with the statuses node itself would answer. */
function problemFor(error: ParseError): HttpProblem {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HeaderFieldsTooLarge();
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new HttpProblem(413, 'payload-too-large', 'Payload too large', 'The chunk extensions of the body are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpProblem(
        408,
        'request-timeout',
        'Request timeout',
        'The request did not arrive in full in time; send it again.',
      );
    default:
      return new BadRequest(`The request is not valid HTTP/1.1${error.reason ? `: ${error.reason}` : ''}.`);
  }
}

/**
 * The `clientError` listener of every service's HTTP server. Node answers a request its parser refuses
 * (headers over the limit, a malformed line) before any app sees it, with an empty body; this answers
 * it like every other error, as problem+json, and closes the connection as node does.
 */
export function answerClientError(error: ParseError, socket: Duplex): void {
  // Write only while no answer has started on this connection: anything else would corrupt it.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const problem = problemFor(error);
  const body = JSON.stringify(problem.toProblem(requestId));
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
