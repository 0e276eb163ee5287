// In-app navigation: history entries and a re-render, no page reload.

let renderPage: () => void = () => {};

/** Sets what runs after each navigation (the app's `render`). */
export function onNavigate(f: () => void): void {
  renderPage = f;
}

/** Goes to `path` in the app. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  renderPage();
}
