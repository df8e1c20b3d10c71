import { Modal } from '../components/ui';

const SHORTCUTS: [string, string][] = [
  ['Ctrl/⌘ + S', 'save with a message'],
  ['Ctrl/⌘ + Z', 'undo'],
  ['Ctrl/⌘ + Shift + Z, Ctrl + Y', 'redo'],
  ['Ctrl/⌘ + C, Ctrl/⌘ + V', 'copy and paste the selected nodes'],
  ['Ctrl/⌘ + A', 'select everything'],
  ['Delete, Backspace', 'delete the selection'],
  ['Shift + drag', 'select with a box'],
  ['Ctrl/⌘/Shift + click', 'add to the selection'],
  ['Arrow keys', 'move the selected nodes'],
  ['Shift + L', 'lay the flow out automatically'],
  ['Escape', 'clear the selection'],
  ['Click a port, then a port', 'connect them (or drag from one to the other)'],
];

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} testId="shortcuts-dialog">
      <table className="table">
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <td>
                <kbd>{keys}</kbd>
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
