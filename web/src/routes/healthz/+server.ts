import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

/** Liveness for the supervisor: the dashboard process serves HTTP. (The gateway's state is on the overview.) */
export const GET: RequestHandler = () => json({ status: 'ok', service: 'web' }, { headers: { 'cache-control': 'no-store' } });
