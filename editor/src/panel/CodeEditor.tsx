import { useMemo } from 'react';
import CodeMirror, { EditorView } from '@uiw/react-codemirror';
import { python } from '@codemirror/lang-python';
import { json } from '@codemirror/lang-json';
import { StreamLanguage } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { useTheme } from '../theme/theme';

export type CodeLanguage = 'python' | 'json' | 'shell' | 'text';

/** CodeMirror for code, schemas and JSON values; labelled for screen readers and tests. */
export function CodeEditor({
  value,
  onChange,
  language,
  readOnly,
  label,
  testId,
  minHeight = '80px',
}: {
  value: string;
  onChange?: (value: string) => void;
  language: CodeLanguage;
  readOnly?: boolean;
  label: string;
  testId?: string;
  minHeight?: string;
}) {
  const { theme } = useTheme();
  const extensions = useMemo(() => {
    const list = [
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({ 'aria-label': label, ...(testId ? { 'data-testid': testId } : {}) }),
    ];
    if (language === 'python') list.push(python());
    if (language === 'json') list.push(json());
    if (language === 'shell') list.push(StreamLanguage.define(shell));
    return list;
  }, [language, label, testId]);
  return (
    <CodeMirror
      className="code-editor"
      value={value}
      onChange={onChange}
      readOnly={readOnly}
      editable={!readOnly}
      theme={theme}
      minHeight={minHeight}
      maxHeight="400px"
      extensions={extensions}
      basicSetup={{ foldGutter: false, highlightActiveLine: !readOnly }}
    />
  );
}
