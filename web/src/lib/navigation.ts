import { resolve } from '$app/paths';
import type { ResolvedPathname } from '$app/types';
import type { IconName } from './components/Icon.svelte';
import { roleAtLeast, type Role } from './roles.ts';

/**
 * The dashboard's navigation as data: each entry with the least role that may see it. A page that is
 * hidden is also refused by the gateway (its routes check the role again); hiding only spares a click.
 */
export interface NavEntry {
  href: ResolvedPathname;
  label: string;
  icon: IconName;
  role: Role;
  /** A key after `g` that goes there (the shortcuts overlay lists it). */
  key?: string;
  /** Current only at its own address, not below it (the overview, under which the other /llm pages sit). */
  exact?: boolean;
  /** Served by the gateway through /api: a full page load, not app routing. */
  external?: boolean;
}

export const MAIN_NAV: readonly NavEntry[] = [
  { href: resolve('/(app)/llm'), label: 'Overview', icon: 'overview', role: 'viewer', key: 'o', exact: true },
  { href: resolve('/(app)/llm/providers'), label: 'Providers', icon: 'key', role: 'viewer', key: 'p' },
  { href: resolve('/(app)/llm/models'), label: 'Models', icon: 'circle', role: 'viewer', key: 'm' },
  { href: resolve('/(app)/llm/presets'), label: 'Presets', icon: 'compass', role: 'viewer', key: 'e' },
  { href: resolve('/(app)/llm/parts'), label: 'Prompt parts', icon: 'file', role: 'viewer' },
  { href: resolve('/(app)/llm/templates'), label: 'Templates', icon: 'book', role: 'viewer' },
  { href: resolve('/(app)/llm/run'), label: 'Run', icon: 'arrow', role: 'editor', key: 'r' },
  { href: resolve('/(app)/llm/tasks'), label: 'Tasks', icon: 'file', role: 'viewer', key: 'h' },
  { href: resolve('/(app)/workflow'), label: 'Posts', icon: 'check', role: 'viewer', key: 'w' },
  { href: resolve('/(app)/settings'), label: 'Settings', icon: 'settings', role: 'viewer', key: 's' },
  { href: '/api/v1/docs' as ResolvedPathname, label: 'API reference', icon: 'book', role: 'viewer', external: true },
];

export const SETTINGS_NAV: readonly NavEntry[] = [
  { href: resolve('/(app)/settings'), label: 'Your account', icon: 'user', role: 'viewer', key: 'a', exact: true },
  { href: resolve('/(app)/settings/tokens'), label: 'API tokens', icon: 'key', role: 'viewer', key: 't' },
  { href: resolve('/(app)/settings/workflow'), label: 'Workflow steps', icon: 'check', role: 'viewer', exact: true },
  { href: resolve('/(app)/settings/workflow/fields'), label: 'Workflow fields', icon: 'file', role: 'viewer' },
  { href: resolve('/(app)/settings/workflow/actions'), label: 'Workflow actions', icon: 'arrow', role: 'viewer' },
  { href: resolve('/(app)/settings/accounts'), label: 'Accounts', icon: 'users', role: 'admin' },
  { href: resolve('/(app)/settings/audit'), label: 'Audit log', icon: 'file', role: 'admin' },
  { href: resolve('/(app)/settings/dead-letters'), label: 'Dead letters', icon: 'alert', role: 'admin' },
];

export function visibleTo(entries: readonly NavEntry[], role: Role | undefined): NavEntry[] {
  return entries.filter((entry) => roleAtLeast(role, entry.role));
}

/** Whether `pathname` is at `href` or under it (the overview and a settings root match only themselves). */
export function isCurrent(pathname: string, href: string, exact = false): boolean {
  return pathname === href || (!exact && pathname.startsWith(`${href}/`));
}
