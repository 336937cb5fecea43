// The chat room view: messages with sender and time, the member list, the typing line and
// the send box. It renders; main.ts feeds it from the SDK's handlers.
import { byId, clock, el } from './dom.js';
import { typingText } from './members.js';

export interface ChatViewActions {
  send(text: string): Promise<void>;
  typing(): void;
}

export class ChatView {
  private readonly list = byId<HTMLOListElement>('messages');
  private readonly typingLine = byId('typing');
  private readonly members = byId<HTMLUListElement>('members');
  private readonly memberCount = byId('member-count');
  private readonly input = byId<HTMLInputElement>('send-text');
  private readonly error = byId('send-error');
  private pending = 0;

  constructor(
    private readonly me: string,
    room: string,
    actions: ChatViewActions,
  ) {
    byId('room-title').textContent = `Room ${room}  ·  chat:${room}`;
    byId<HTMLFormElement>('send').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = '';
      this.pending++;
      this.showPending();
      actions
        .send(text)
        .then(() => this.showError(''))
        .catch((e: unknown) => this.showError(`Not sent: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => {
          this.pending--;
          this.showPending();
        });
    });
    this.input.addEventListener('input', () => {
      if (this.input.value.trim()) actions.typing();
    });
  }

  message(m: { seq: number; ts: number; from: string | undefined; text: string; recovered: boolean }): void {
    const li = el('li', m.from === this.me ? 'mine' : '');
    li.dataset.seq = String(m.seq);
    if (m.recovered) li.classList.add('recovered');
    li.append(el('time', '', clock(m.ts)), el('span', 'from', m.from ?? 'server'), el('span', 'text', m.text), el('span', 'seq', `#${m.seq}`));
    this.append(li);
  }

  notice(text: string, cls = 'notice'): void {
    this.append(el('li', cls, text));
  }

  setMembers(users: readonly string[]): void {
    this.members.replaceChildren(
      ...users.map((u) => {
        const li = el('li', u === this.me ? 'me' : '', u === this.me ? `${u} (you)` : u);
        li.dataset.user = u;
        return li;
      }),
    );
    this.memberCount.textContent = `(${users.length})`;
  }

  setTyping(users: readonly string[]): void {
    this.typingLine.textContent = typingText(users);
  }

  focus(): void {
    this.input.focus();
  }

  private append(li: HTMLLIElement): void {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(li);
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  private showPending(): void {
    if (this.pending > 0) this.error.textContent = `${this.pending} message${this.pending === 1 ? '' : 's'} waiting to be stored …`;
    else if (this.error.dataset.kind !== 'error') this.error.textContent = '';
  }

  private showError(text: string): void {
    this.error.dataset.kind = text ? 'error' : '';
    this.error.textContent = text;
  }
}
