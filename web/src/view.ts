// Renders a ChatSession: the directory (groups, then departments with their
// people, presence dots and unread badges) and the open conversation.
import { SessionType } from '@tiertalk/client';
import { el, must } from './dom';
import type { ChatMessage, ChatSession, Contact, Conversation } from './session';

function clock(unixSec: number): string {
  const d = new Date(unixSec * 1000);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

export class ChatView {
  private readonly directory: HTMLElement;
  private readonly title: HTMLElement;
  private readonly messages: HTMLElement;
  private readonly olderButton: HTMLButtonElement;
  private readonly composer: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly status: HTMLElement;
  private readonly attach: HTMLInputElement;
  private readonly upload: HTMLElement;
  private readonly uploadProgress: HTMLProgressElement;
  /** Uploads in flight: the progress bar shows while there is one. */
  private uploading = 0;
  /** The conversation last drawn: a newly opened one starts at its latest message. */
  private shownKey: string | undefined;

  constructor(
    root: HTMLElement,
    private readonly session: ChatSession,
  ) {
    this.directory = must(root, '#directory');
    this.title = must(root, '#chat-title');
    this.messages = must(root, '#messages');
    this.olderButton = must(root, '#load-older');
    this.composer = must(root, '#composer');
    this.input = must(root, '#compose');
    this.status = must(root, '#status');
    this.attach = must(root, '#attach');
    this.upload = must(root, '#upload');
    this.uploadProgress = must(root, '#upload-progress');
    this.setUpImages(root);
    must<HTMLElement>(root, '#me-name').textContent = session.me.name;

    this.directory.addEventListener('click', (ev) => {
      const entry = (ev.target as Element).closest<HTMLElement>('[data-key]');
      if (entry) this.run(this.openKey(entry.dataset.key ?? ''));
    });
    this.olderButton.addEventListener('click', () => {
      const conv = this.activeConversation();
      if (conv) this.run(session.loadOlder(conv), true);
    });
    this.composer.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.sendInput();
    });
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey) {
        ev.preventDefault();
        this.sendInput();
      }
    });
    session.addEventListener('change', (ev) => {
      const { kind, key } = (ev as CustomEvent<{ kind: string; key?: string }>).detail;
      if (kind === 'closed') this.showStatus(`Disconnected (${session.closedReason ?? 'connection closed'}): reload the page to sign in again`, true);
      else if (kind === 'conversation') {
        if (key === session.active) this.renderConversation();
      } else if (kind === 'active') {
        this.renderDirectory();
        this.renderConversation();
      } else this.renderDirectory();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') session.markActiveRead();
    });
    this.renderDirectory();
    this.renderConversation();
  }

  private openKey(key: string): Promise<void> {
    const type = key.startsWith('g') ? SessionType.SESSION_TYPE_GROUP : SessionType.SESSION_TYPE_SINGLE;
    return this.session.open(type, Number(key.slice(1)));
  }

  private activeConversation(): Conversation | undefined {
    return this.session.active === undefined ? undefined : this.session.conversations.get(this.session.active);
  }

  private sendInput(): void {
    const conv = this.activeConversation();
    const text = this.input.value.trim();
    if (!conv || text === '') return;
    this.input.value = '';
    this.run(
      this.session.send(conv, text).catch((err: unknown) => {
        this.input.value = text;
        throw err;
      }),
    );
  }

  /** Pictures come from the file chooser, a paste into the message box, or a drop on the conversation. */
  private setUpImages(root: HTMLElement): void {
    const blocked = this.session.imageBlocker;
    if (blocked !== undefined) {
      this.attach.disabled = true;
      const button = must<HTMLElement>(root, '#attach-button');
      button.classList.add('disabled');
      button.title = `Pictures cannot be sent: ${blocked}`;
    }
    this.attach.addEventListener('change', () => {
      const file = this.attach.files?.[0];
      this.attach.value = '';
      if (file) this.sendImage(file);
    });
    this.input.addEventListener('paste', (ev) => {
      const file = [...(ev.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
      if (!file) return;
      ev.preventDefault();
      this.sendImage(file);
    });
    const chat = must<HTMLElement>(root, '.chat');
    const carriesFiles = (ev: DragEvent): boolean => ev.dataTransfer?.types.includes('Files') === true && this.activeConversation() !== undefined;
    chat.addEventListener('dragover', (ev) => {
      if (!carriesFiles(ev)) return;
      ev.preventDefault();
      chat.classList.add('dropping');
    });
    chat.addEventListener('dragleave', () => chat.classList.remove('dropping'));
    chat.addEventListener('drop', (ev) => {
      chat.classList.remove('dropping');
      if (!carriesFiles(ev)) return;
      ev.preventDefault();
      const file = ev.dataTransfer?.files[0];
      if (file) this.sendImage(file);
    });
  }

  /** Uploads and sends one picture to the open conversation, showing progress, then the outcome. */
  private sendImage(file: File): void {
    const conv = this.activeConversation();
    if (!conv) return;
    const blocked = this.session.imageBlocker;
    if (blocked !== undefined) return this.showStatus(`Pictures cannot be sent: ${blocked}`, true);
    this.showStatus('', false);
    must<HTMLElement>(this.upload, '#upload-name').textContent = `Sending ${file.name || 'picture'}`;
    const percent = must<HTMLElement>(this.upload, '#upload-percent');
    const progress = (sent: number): void => {
      this.uploadProgress.value = sent;
      percent.textContent = `${Math.round(sent * 100)}%`;
    };
    progress(0);
    this.uploading += 1;
    this.upload.hidden = false;
    const done = (): void => {
      this.uploading -= 1;
      this.upload.hidden = this.uploading === 0;
    };
    this.run(this.session.sendImage(conv, file, progress).finally(done));
  }

  /** Runs a user action; a failure is shown, never thrown away. */
  private run(action: Promise<void>, keepScroll = false): void {
    const before = this.messages.scrollHeight - this.messages.scrollTop;
    action
      .then(() => {
        if (keepScroll) this.messages.scrollTop = this.messages.scrollHeight - before;
      })
      .catch((err: unknown) => this.showStatus(err instanceof Error ? err.message : String(err), true));
  }

  private showStatus(text: string, error: boolean): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', error);
  }

  private entry(key: string, name: string, unread: number, contact?: Contact): HTMLElement {
    const active = key === this.session.active;
    return el(
      'button',
      { class: `entry${active ? ' active' : ''}`, type: 'button', 'data-key': key, ...(contact ? { 'data-online': String(contact.online) } : {}) },
      contact ? el('span', { class: 'dot', title: contact.online ? 'online' : 'offline' }) : el('span', { class: 'group-icon' }, '#'),
      el('span', { class: 'name' }, name),
      unread > 0 && el('span', { class: 'badge', 'data-unread': String(unread) }, unread > 99 ? '99+' : String(unread)),
    );
  }

  private unread(key: string): number {
    return this.session.conversations.get(key)?.unread ?? 0;
  }

  private renderDirectory(): void {
    const s = this.session;
    const sections: HTMLElement[] = [];
    const groups = [...s.groups.values()].sort((a, b) => a.name.localeCompare(b.name));
    if (groups.length > 0) {
      sections.push(el('section', { class: 'dir-section', 'data-section': 'groups' }, el('h2', {}, 'Groups'), ...groups.map((g) => this.entry(`g${g.id}`, g.name, this.unread(`g${g.id}`)))));
    }
    const byDept = new Map<number, Contact[]>();
    for (const c of s.contacts.values()) {
      if (c.id === s.me.id) continue;
      const list = byDept.get(c.departmentId) ?? [];
      list.push(c);
      byDept.set(c.departmentId, list);
    }
    const depts = [...byDept.keys()].sort((a, b) => (s.departments.get(a)?.priority ?? 0) - (s.departments.get(b)?.priority ?? 0) || a - b);
    for (const deptId of depts) {
      const people = (byDept.get(deptId) ?? []).sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
      const name = s.departments.get(deptId)?.name ?? 'Other';
      sections.push(el('section', { class: 'dir-section', 'data-section': `dept-${deptId}` }, el('h2', {}, name), ...people.map((c) => this.entry(`u${c.id}`, c.name, this.unread(`u${c.id}`), c))));
    }
    this.directory.replaceChildren(...sections);
    const total = s.totalUnread;
    document.title = `${total > 0 ? `(${total}) ` : ''}${s.me.name} · TierTalk`;
    const conv = this.activeConversation();
    if (conv) this.renderTitle(conv);
  }

  private renderTitle(conv: Conversation): void {
    const contact = conv.type === SessionType.SESSION_TYPE_SINGLE ? this.session.contacts.get(conv.id) : undefined;
    const members = conv.type === SessionType.SESSION_TYPE_GROUP ? this.session.groups.get(conv.id)?.memberIds.length : undefined;
    this.title.replaceChildren(
      el(
        'span',
        { class: 'title-name' },
        this.session.title(conv),
      ),
      el(
        'span',
        { class: 'title-presence', ...(contact ? { 'data-online': String(contact.online) } : {}) },
        contact ? (contact.online ? 'online' : 'offline') : members !== undefined ? `${members} members` : '',
      ),
    );
  }

  private message(m: ChatMessage): HTMLElement {
    const mine = m.fromUserId === this.session.me.id;
    const body = el('div', { class: 'body' });
    for (const part of m.parts) {
      body.append(part.kind === 'text' ? el('span', { class: 'text' }, part.text) : el('a', { href: part.url, target: '_blank', rel: 'noopener noreferrer' }, el('img', { class: 'image', src: part.url, alt: 'image', loading: 'lazy' })));
    }
    return el('div', { class: `msg${mine ? ' mine' : ''}`, 'data-msg-id': String(m.msgId) }, el('div', { class: 'meta' }, `${this.session.nameOf(m.fromUserId)} · ${clock(m.createTime)}`), body);
  }

  private renderConversation(): void {
    const conv = this.activeConversation();
    this.composer.hidden = !conv;
    if (!conv) {
      this.title.textContent = 'Choose a person or a group';
      this.olderButton.hidden = true;
      this.messages.replaceChildren(this.olderButton);
      return;
    }
    this.renderTitle(conv);
    const atBottom = conv.key !== this.shownKey || this.messages.scrollHeight - this.messages.scrollTop - this.messages.clientHeight < 40;
    this.shownKey = conv.key;
    this.olderButton.hidden = !conv.loaded || !conv.hasMore;
    this.messages.replaceChildren(this.olderButton, ...conv.messages.map((m) => this.message(m)));
    this.messages.dataset.loaded = String(conv.loaded);
    if (atBottom) this.messages.scrollTop = this.messages.scrollHeight;
    this.input.focus();
  }
}
