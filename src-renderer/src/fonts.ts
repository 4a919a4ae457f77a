// The panel's fonts, bundled (woff2 files next to the bundle): a roadside panel loads nothing
// from the network. Imported by the renderer's entry and by any page that draws the renderer's
// components (the backoffice's previews), so text is measured and fitted with the same faces.
import '@fontsource/atkinson-hyperlegible/400.css';
import '@fontsource/atkinson-hyperlegible/700.css';
// Atkinson Hyperlegible is Latin only: the right-to-left scripts come bundled too (their
// script subsets only; the browser fetches a file only when a glyph of its range is shown).
import '@fontsource/noto-sans-arabic/arabic-400.css';
import '@fontsource/noto-sans-arabic/arabic-700.css';
import '@fontsource/noto-sans-hebrew/hebrew-400.css';
import '@fontsource/noto-sans-hebrew/hebrew-700.css';
