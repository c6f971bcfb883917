// The page's entry: the sign-in form, then the chat view over a ChatSession.
import { DEFAULT_PAGE_SIZE } from '@tiertalk/client';
import { must } from './dom';
import { ChatSession } from './session';
import { ChatView } from './view';

/** `?pageSize=N` changes the history page (default: TeamTalk clients' 20). */
function pageSize(): number {
  const n = Number(new URLSearchParams(location.search).get('pageSize'));
  return Number.isInteger(n) && n >= 1 && n <= 100 ? n : DEFAULT_PAGE_SIZE;
}

function start(): void {
  const loginView = must<HTMLElement>(document, '#login-view');
  const chatView = must<HTMLElement>(document, '#chat-view');
  const form = must<HTMLFormElement>(document, '#login-form');
  const error = must<HTMLElement>(document, '#login-error');
  const button = must<HTMLButtonElement>(form, 'button[type=submit]');

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const user = String(data.get('user') ?? '').trim();
    const password = String(data.get('password') ?? '');
    if (user === '') return;
    button.disabled = true;
    error.textContent = '';
    ChatSession.start(location.origin, location.protocol === 'https:', user, password, { pageSize: pageSize() })
      .then((session) => {
        loginView.hidden = true;
        chatView.hidden = false;
        new ChatView(chatView, session);
        must<HTMLButtonElement>(chatView, '#sign-out').addEventListener('click', () => {
          session.close();
          location.reload();
        });
        window.addEventListener('pagehide', () => session.close());
      })
      .catch((err: unknown) => {
        error.textContent = err instanceof Error ? err.message : String(err);
        button.disabled = false;
      });
  });
}

start();
