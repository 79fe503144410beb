// A server-sent events parser (the subset /api/v1/events uses, per the WHATWG rules):
// `event:` and `data:` fields, comment lines starting with ':', events ended by a blank
// line, \n, \r\n or \r line ends, chunks split anywhere.

export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;
  #sawCr = false;

  /** Feeds a chunk of the stream; returns the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    let text = chunk;
    // A \r\n split across chunks: the \n belongs to the line the \r ended.
    if (this.#sawCr && text.startsWith('\n')) text = text.slice(1);
    this.#sawCr = text.endsWith('\r');
    this.#buffer += text;
    const out: ServerSentEvent[] = [];
    const lines = this.#buffer.split(/\r\n|\r|\n/);
    this.#buffer = lines.pop() ?? '';
    for (const line of lines) {
      const event = this.#line(line);
      if (event) out.push(event);
    }
    return out;
  }

  #line(line: string): ServerSentEvent | undefined {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = '';
        return undefined;
      }
      const event: ServerSentEvent = {
        event: this.#event || 'message',
        data: this.#data.join('\n'),
        ...(this.#id !== undefined ? { id: this.#id } : {}),
      };
      this.#event = '';
      this.#data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id') this.#id = value;
    return undefined;
  }
}
