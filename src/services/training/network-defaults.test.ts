/** Network training defaults: chosen from the row count, early stopping on the validation loss, user settings win. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkDefaults } from './network-defaults.js';

test('defaults train small tables long (with early stopping) and large ones in bigger batches', () => {
  const small = networkDefaults({ fitRows: 108, validation: true });
  assert.deepEqual(small, { epochs: 500, batchSize: 32, earlyStopping: { patience: 10, monitor: 'val_loss' } });
  const mnist = networkDefaults({ fitRows: 7200, validation: true });
  assert.deepEqual(mnist, { epochs: 14, batchSize: 64, earlyStopping: { patience: 10, monitor: 'val_loss' } });
  assert.equal(networkDefaults({ fitRows: 1_000_000, validation: true }).epochs, 10, 'at least 10 epochs');
  assert.equal(networkDefaults({ fitRows: 1_000_000, validation: true }).batchSize, 128);
  assert.deepEqual(networkDefaults({ fitRows: 15, validation: false }).earlyStopping, { patience: 10, monitor: 'loss' }, 'no validation rows: the training loss');
});

test('what the user sets wins: epochs alone train exactly that many, batch size and early stopping as given', () => {
  assert.deepEqual(networkDefaults({ epochs: 40, fitRows: 108, validation: true }), { epochs: 40, batchSize: 32 });
  assert.deepEqual(networkDefaults({ batchSize: 8, fitRows: 7200, validation: true }).batchSize, 8);
  const es = { patience: 3, monitor: 'val_accuracy' as const };
  assert.deepEqual(networkDefaults({ earlyStopping: es, fitRows: 7200, validation: true }), { epochs: 14, batchSize: 64, earlyStopping: es });
  assert.deepEqual(networkDefaults({ epochs: 30, earlyStopping: es, fitRows: 100, validation: true }), { epochs: 30, batchSize: 32, earlyStopping: es });
});
