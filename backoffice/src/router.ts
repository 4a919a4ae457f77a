import type { Role } from '@airpanel/contract';
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { loadSession } from './lib/session-actions.js';
import { safeNextPath } from './lib/navigation.js';
import { session } from './lib/session.js';

/** The app's pages: `title` names the page (document title and navigation), `nav` lists it in the menu. */
export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/fleet' },
  { path: '/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { title: 'Log in', public: true } },
  { path: '/fleet', name: 'fleet', component: () => import('./pages/FleetPage.vue'), meta: { title: 'Fleet', nav: true } },
  {
    path: '/panels/:panelId',
    name: 'panel',
    component: () => import('./pages/PanelPage.vue'),
    props: true,
    meta: { title: 'Panel' },
  },
  {
    path: '/content-sets',
    name: 'content-sets',
    component: () => import('./pages/ContentSetsPage.vue'),
    meta: { title: 'Content sets', nav: true },
  },
  {
    path: '/level-schemes',
    name: 'level-schemes',
    component: () => import('./pages/LevelSchemesPage.vue'),
    meta: { title: 'Level schemes', nav: true },
  },
  { path: '/sensors', name: 'sensors', component: () => import('./pages/SensorsPage.vue'), meta: { title: 'Sensors', nav: true } },
  { path: '/releases', name: 'releases', component: () => import('./pages/ReleasesPage.vue'), meta: { title: 'Releases', nav: true } },
  { path: '/alerts', name: 'alerts', component: () => import('./pages/AlertsPage.vue'), meta: { title: 'Alerts', nav: true } },
  { path: '/audit', name: 'audit', component: () => import('./pages/AuditPage.vue'), meta: { title: 'Audit log', nav: true } },
  { path: '/users', name: 'users', component: () => import('./pages/UsersPage.vue'), meta: { title: 'Users', nav: true, role: 'admin' } },
  { path: '/:unknown(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue'), meta: { title: 'Not found' } },
];

export const router = createRouter({ history: createWebHistory('/'), routes });

// Every page but the login needs a session: without one, log in and come back.
router.beforeEach(async (to) => {
  if (!session.checked) await loadSession();
  if (to.meta.public) return session.user && to.name === 'login' ? { path: safeNextPath(to.query.next) } : true;
  if (!session.user) return { name: 'login', query: { next: to.fullPath } };
  return true;
});

router.afterEach((to) => {
  document.title = `${String(to.meta.title ?? 'Airpanel')} · Airpanel backoffice`;
});

declare module 'vue-router' {
  interface RouteMeta {
    title?: string;
    /** Listed in the main navigation. */
    nav?: boolean;
    /** Reachable without a session. */
    public?: boolean;
    /** Listed only for this role (the API refuses the others anyway). */
    role?: Role;
  }
}
