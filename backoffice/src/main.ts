// First: before any zod schema of the contract is created (see the module).
import './lib/zod-jitless.js';
// Fonts are bundled: the backoffice loads nothing from another origin.
import '@fontsource/atkinson-hyperlegible/400.css';
import '@fontsource/atkinson-hyperlegible/700.css';
import './styles.css';
import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router.js';
import { setCsrfToken, whenSessionLost } from './lib/api.js';
import { setSession } from './lib/session.js';

// A session that expired (idle or absolute) or was ended elsewhere: back to the login, and
// back to this page after it.
whenSessionLost(() => {
  setCsrfToken(null);
  setSession(null);
  const current = router.currentRoute.value;
  if (current.name !== 'login') void router.push({ name: 'login', query: { next: current.fullPath } });
});

createApp(App).use(router).mount('#app');
