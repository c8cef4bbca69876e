import { useSyncExternalStore } from 'react';
import { connection } from '../api.ts';

const LABELS = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline — retrying' } as const;

/** The top bar: name, connection indicator, GraphiQL link. */
export function Header() {
  const info = useSyncExternalStore(connection.subscribe, connection.get);
  const title = info.status === 'live'
    ? `Connected over ${info.transport === 'ws' ? 'WebSocket (graphql-ws)' : 'Server-Sent Events (graphql-sse)'}${info.reconnects > 0 ? `; reconnected ${info.reconnects}×, streams resumed from their last event` : ''}`
    : 'The connection to the server is down; streams resume from their last event when it is back';
  return (
    <header className="topbar">
      <a className="brand" href="/" aria-label="Flowcast live view">
        <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
          <rect width="32" height="32" rx="7" fill="#111827" />
          <circle cx="9" cy="10" r="3.5" fill="#10b981" />
          <circle cx="23" cy="16" r="3.5" fill="#3b82f6" />
          <circle cx="9" cy="22" r="3.5" fill="#f59e0b" />
          <path d="M12 11l8 4M12 21l8-4" stroke="#e5e7eb" strokeWidth="2" strokeLinecap="round" />
        </svg>
        <span>Flowcast</span>
        <span className="brand-sub">live view</span>
      </a>
      <div className="topbar-right">
        <div className={`connection connection-${info.status}`} data-connection={info.status} data-transport={info.transport} data-reconnects={info.reconnects} title={title} role="status" aria-live="polite">
          <span className="connection-dot" aria-hidden="true" />
          <span>{LABELS[info.status]}</span>
          {info.status === 'live' && <span className="connection-transport">{info.transport === 'ws' ? 'WS' : 'SSE'}</span>}
          {info.reconnects > 0 && <span className="connection-count" title="times reconnected">↻ {info.reconnects}</span>}
        </div>
        <a className="link-button" href="/graphql" target="_blank" rel="noreferrer">
          GraphiQL ↗
        </a>
      </div>
    </header>
  );
}
