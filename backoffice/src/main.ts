// First: before any zod schema of the contract is created (see the module).
import './lib/zod-jitless.js';
// Fonts are bundled: the backoffice loads nothing from another origin.
import '@fontsource/atkinson-hyperlegible/400.css';
import '@fontsource/atkinson-hyperlegible/700.css';
import './styles.css';
import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router.js';

createApp(App).use(router).mount('#app');
