import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_CONTENT_TYPE, type Problem } from '../problem.ts';
import { answerClientError } from './client-error.ts';

/** Writes raw bytes on a connection of its own and reads what comes back until the server closes it. */
function exchange(port: number, bytes: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('end', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body });
    });
    socket.on('error', reject);
    socket.end(bytes);
  });
}

describe("answers to requests node's HTTP parser refuses", () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    server.on('clientError', answerClientError);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function expectProblem(answer: { status: number; headers: string; body: string }, status: number): Problem {
    expect(answer.status).toBe(status);
    expect(answer.headers).toContain(`content-type: ${PROBLEM_CONTENT_TYPE}`);
    const problem = JSON.parse(answer.body) as Problem;
    expect(problem).toMatchObject({ status, instance: expect.any(String) });
    return problem;
  }

  it('answers headers over the limit with a 431 problem that says what to do', async () => {
    const answer = await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(expectProblem(answer, 431).detail).toMatch(/headers.*larger/i);
  });

  it('answers a request that is not HTTP with a 400 problem naming what is wrong', async () => {
    const answer = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    expect(expectProblem(answer, 400).detail).toMatch(/not valid HTTP/);
  });

  it('still serves well-formed requests', async () => {
    const answer = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatchObject({ status: 200, body: 'ok' });
  });
});
