import { createStore } from 'zustand/vanilla';
import { useStore } from 'zustand';
import { useEffect, useState } from 'react';

export type ThemePreference = 'system' | 'light' | 'dark';
const KEY = 'flomation.theme';

function initial(): ThemePreference {
  const saved = typeof localStorage === 'undefined' ? null : localStorage.getItem(KEY);
  return saved === 'light' || saved === 'dark' ? saved : 'system';
}

const themeStore = createStore<{ preference: ThemePreference }>()(() => ({ preference: initial() }));

export function setThemePreference(preference: ThemePreference) {
  localStorage.setItem(KEY, preference);
  themeStore.setState({ preference });
}

function systemDark(): boolean {
  return typeof window !== 'undefined' && window.matchMedia?.('(prefers-color-scheme: dark)').matches;
}

/** The preference and the theme in effect; keeps `<html data-theme>` in step. */
export function useTheme(): { preference: ThemePreference; theme: 'light' | 'dark' } {
  const preference = useStore(themeStore, (s) => s.preference);
  const [dark, setDark] = useState(systemDark);
  useEffect(() => {
    const query = window.matchMedia?.('(prefers-color-scheme: dark)');
    if (!query) return;
    const onChange = () => setDark(query.matches);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);
  const theme = preference === 'system' ? (dark ? 'dark' : 'light') : preference;
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return { preference, theme };
}
