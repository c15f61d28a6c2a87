/** Chat prompts: the default "role: content" layout, real templates (ChatML, Zephyr-style) in the Jinja subset, and refusals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '../../../infra/errors.js';
import { chatPrompt, renderTemplate } from './chat-template.js';

const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Why?' }];

test('without a template: role: content lines and a final assistant:', () => {
  assert.equal(chatPrompt(messages, {}), 'system: Be brief.\nuser: Hi\nassistant: Hello.\nuser: Why?\nassistant:');
});

test('ChatML (Qwen, SmolLM) and Zephyr-style templates render as transformers renders them', () => {
  const chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  assert.equal(chatPrompt(messages.slice(0, 2), { chatTemplate: chatml }),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  const zephyr = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
  assert.equal(chatPrompt(messages.slice(1, 2), { chatTemplate: zephyr, eosText: '</s>' }), '<|user|>\nHi</s>\n<|assistant|>\n');
  const trimmed = '{{- bos_token }}{%- for m in messages %}{%- if not loop.first %} | {% endif -%}{{ m.role }}={{ m.content | trim }}{%- endfor %}';
  assert.equal(renderTemplate(trimmed, { messages: [{ role: 'a', content: ' x ' }, { role: 'b', content: 'y' }], bos_token: '<s>' }), '<s>a=x | b=y');
  assert.equal(renderTemplate('{% if x is defined %}yes{% else %}no{% endif %}{# note #}{{ messages | length }}', { messages: [1, 2] }), 'no2');
});

test('constructs outside the subset are refused with a 422 naming them', () => {
  for (const t of ["{{ raise_exception('no') }}", '{% macro m() %}{% endmacro %}', '{% for m in messages %}']) {
    assert.throws(() => chatPrompt(messages, { chatTemplate: t }), (e: DomainError) => e.kind === 'invalid_input' && e.code === 'unsupported_chat_template', t);
  }
});
