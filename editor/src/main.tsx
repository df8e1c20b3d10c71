import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import './styles.css';
import { loadConfig } from './config';
import { initApi } from './api/instance';
import { App } from './App';
import { setDocsBase } from './panel/present';

void loadConfig().then((config) => {
  initApi(config);
  setDocsBase(config.docsBaseUrl);
  createRoot(document.getElementById('root') as HTMLElement).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
});
