"""The reference GPT: the teacher's answer and the engine that trains and samples the poet.

The modules follow the course, and each one uses only the ones before it:

    bpe, tiktoken_offline        text -> token ids (lesson 2)
    embeddings                   token and position embeddings (lesson 3)
    attention                    softmax, causal mask, scaled dot-product attention (lesson 4)
    multihead                    splitting heads, projections (lesson 5)
    layernorm, gelu, feedforward, block    the pre-norm transformer block (lesson 6)
    config, model                the GPT model (lesson 7)
    batching, loss, optim, schedule, checkpoint, training    training (lesson 8)
    sampling, poet               sampling and the AI poet (lessons 9 and 10)

Tensor dimensions use one vocabulary everywhere, in shape comments and docstrings:

    B  batch size                 T  sequence length (time steps)
    C  model width (d_model)      H  number of attention heads
    D  head width, C // H         V  vocabulary size
"""
