import '@xyflow/react/dist/style.css';
import './styles.css';
import { createRoot } from 'react-dom/client';
import { Provider } from 'urql';
import { flowcast } from './api.ts';
import { App } from './App.tsx';

createRoot(document.getElementById('root')!).render(
  <Provider value={flowcast.urql}>
    <App />
  </Provider>,
);
