import { z } from 'zod';
import { isPgError, PgCode, withTransaction, type Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import { publish } from '@llmops/kit/bus/index';
import type { ServiceApp } from '@llmops/kit/http/app';
import { checkIfMatch, etagOf } from '@llmops/kit/http/preconditions';
import { Conflict, NotFound } from '@llmops/kit/problem';
import { decodeCursor, encodeCursor } from '@llmops/kit/contracts/common';
import * as contract from '@llmops/kit/contracts/workflow';
import { postChanged } from '@llmops/kit/events/workflow';
import * as posts from '../db/posts.ts';
import type { PostRow } from '../db/posts.ts';
import * as sections from '../db/sections.ts';
import type { SectionRow } from '../db/sections.ts';
import * as stages from '../db/stages.ts';
import * as values from '../db/values.ts';
import { postDetailJson, postJson, sectionJson } from '../json.ts';
import { firstFree, slugOf } from '../posts/slug.ts';
import { invalid, moved, type RouteDeps } from './common.ts';

const Id = z.uuid();

function slugTaken(error: unknown): never {
  if (isPgError(error, PgCode.uniqueViolation)) {
    throw invalid({ field: 'body.slug', message: 'another post has this slug; choose another' });
  }
  throw error;
}

/** A post that exists, or a 404. */
export async function postOr404(db: Queryable, id: string, { lock = false } = {}): Promise<PostRow> {
  const row = await posts.get(db, id, { lock });
  if (!row) throw new NotFound('No such post.');
  return row;
}

async function detail(db: Queryable, row: PostRow) {
  const [sectionRows, valueRows] = await Promise.all([sections.ofPost(db, row.id), values.ofPost(db, row.id)]);
  return postDetailJson(row, sectionRows, valueRows);
}

async function checkSubstage(db: Queryable, id: string | undefined): Promise<void> {
  if (id === undefined) return;
  const substage = await stages.getSubstage(db, id);
  if (!substage) throw invalid({ field: 'body.substage_id', message: 'no such substage' });
  if (substage.retired_at) throw invalid({ field: 'body.substage_id', message: 'this substage is retired' });
}

async function changed(tx: Queryable, postId: string, change: 'created' | 'updated' | 'sections_changed') {
  await publish(tx, postChanged, { post_id: postId, change, at: new Date().toISOString() });
}

/** Posts and their sections. */
export function mountPosts(app: ServiceApp, { pool }: RouteDeps): void {
  app.openapi(contract.listPosts, async (c) => {
    const query = c.req.valid('query');
    const rows = await posts.list(pool, {
      limit: query.limit + 1,
      before: decodeCursor(query.cursor, Id),
      q: query.q?.trim() || undefined,
      status: query.status,
      substageId: query.substage_id,
    });
    const page = rows.slice(0, query.limit);
    return c.json(
      { items: page.map(postJson), next_cursor: rows.length > query.limit ? encodeCursor(page.at(-1)?.id) : null },
      200,
    );
  });

  app.openapi(contract.createPost, async (c) => {
    const input = c.req.valid('json');
    const identity = c.get('identity');
    const { body } = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, 'post.create', input, async () => {
        await checkSubstage(tx, input.substage_id);
        const substageId = input.substage_id ?? (await stages.firstSubstage(tx))?.id;
        if (!substageId)
          throw new Conflict(
            'Every substage is retired: bring one back (PATCH /api/v1/workflow/substages/{id}) before starting a post.',
          );
        const id = uuidv7();
        // A derived slug takes the first free `slug`, `slug-2`, …; one the editor chose must be free.
        const base = slugOf(input.title);
        const slug = input.slug ?? firstFree(base, await posts.slugsLike(tx, base));
        await posts
          .insert(tx, {
            id,
            title: input.title,
            slug,
            status: input.status ?? 'draft',
            substage_id: substageId,
            created_by: `${identity.kind}:${identity.subject}`,
          })
          .catch(slugTaken);
        const json = await detail(tx, (await posts.get(tx, id)) as PostRow);
        await changed(tx, id, 'created');
        await c.var.audit(tx, 'post.created', { type: 'post', id }, null, postJson((await posts.get(tx, id)) as PostRow));
        return { status: 201, body: json };
      }),
    );
    c.header('ETag', etagOf(body.updated_at));
    return c.json(body, 201);
  });

  app.openapi(contract.getPost, async (c) => {
    const row = await postOr404(pool, c.req.valid('param').id);
    c.header('ETag', etagOf(row.updated_at));
    return c.json(await detail(pool, row), 200);
  });

  app.openapi(contract.updatePost, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      const row = await postOr404(tx, id, { lock: true });
      checkIfMatch(c, row.updated_at, 'The post');
      await checkSubstage(tx, input.substage_id);
      await posts.update(tx, id, input).catch(slugTaken);
      const after = (await posts.get(tx, id)) as PostRow;
      await changed(tx, id, 'updated');
      await c.var.audit(tx, 'post.updated', { type: 'post', id }, postJson(row), postJson(after));
      return detail(tx, after);
    });
    c.header('ETag', etagOf(json.updated_at));
    return c.json(json, 200);
  });

  app.openapi(contract.createSection, async (c) => {
    const { id: postId } = c.req.valid('param');
    const input = (c.req.valid('json') as { position?: number } | undefined) ?? {};
    const { body } = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, `post.section.create:${postId}`, input, async () => {
        await postOr404(tx, postId, { lock: true });
        const siblings = await sections.ofPost(tx, postId, { lock: true });
        const id = uuidv7();
        await sections.insert(tx, { id, post_id: postId, position: siblings.length + 1 });
        await sections.renumber(
          tx,
          moved(
            siblings.map((s) => s.id),
            id,
            input.position,
          ),
        );
        await posts.touch(tx, postId);
        const json = sectionJson((await sections.get(tx, postId, id)) as SectionRow);
        await changed(tx, postId, 'sections_changed');
        await c.var.audit(tx, 'section.created', { type: 'post_section', id }, null, json);
        return { status: 201, body: json };
      }),
    );
    return c.json(body, 201);
  });

  app.openapi(contract.updateSection, async (c) => {
    const { id: postId, section_id: sectionId } = c.req.valid('param');
    const { position } = c.req.valid('json');
    const items = await withTransaction(pool, async (tx) => {
      await postOr404(tx, postId, { lock: true });
      const siblings = await sections.ofPost(tx, postId, { lock: true });
      const before = siblings.find((s) => s.id === sectionId);
      if (!before) throw new NotFound('No such section of this post (or it was removed).');
      await sections.renumber(
        tx,
        moved(
          siblings.map((s) => s.id),
          sectionId,
          position,
        ),
      );
      await posts.touch(tx, postId);
      const after = (await sections.ofPost(tx, postId)).map(sectionJson);
      await changed(tx, postId, 'sections_changed');
      await c.var.audit(
        tx,
        'section.moved',
        { type: 'post_section', id: sectionId },
        { position: before.position },
        { position: after.find((s) => s.id === sectionId)?.position },
      );
      return after;
    });
    return c.json({ items }, 200);
  });

  app.openapi(contract.deleteSection, async (c) => {
    const { id: postId, section_id: sectionId } = c.req.valid('param');
    await withTransaction(pool, async (tx) => {
      await postOr404(tx, postId, { lock: true });
      const siblings = await sections.ofPost(tx, postId, { lock: true });
      const before = siblings.find((s) => s.id === sectionId);
      if (!before) throw new NotFound('No such section of this post (or it was removed).');
      await sections.remove(tx, sectionId);
      await sections.renumber(
        tx,
        siblings.map((s) => s.id).filter((s) => s !== sectionId),
      );
      await posts.touch(tx, postId);
      await changed(tx, postId, 'sections_changed');
      await c.var.audit(tx, 'section.removed', { type: 'post_section', id: sectionId }, sectionJson(before), null);
    });
    return c.body(null, 204);
  });
}
