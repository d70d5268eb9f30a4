"""facelib's benchmarks, run by `facelib bench` (or `python -m benchmarks`), built from
facelib's own parts: params from `load_params`, scoring from `facelib.models.metrics`, data
from synth's cached dataset. Parts, one module each:

- loader: facelib's tf.data pipeline against a per-image generator written the way the
  reference fed its models (`loader.naive_batches`, the one loader that lives only here);
- training: images/s fed by the pipeline against one batch held in memory;
- precision: float32, mixed_bfloat16 and (on a GPU) mixed_float16, XLA off and on: images/s
  and mean IoU;
- inference: images/s in batches, and one 3000x2000 photo end to end;
- peer: the same training step in segmentation_models_pytorch, when it is installed;
- report: the checks, the table and the JSON; `run` runs the parts in order;
- scale: `python -m benchmarks.scale`, time and memory of validation on N pairs.

Nothing in facelib imports this package except the `bench` command's handler.
"""

import facelib  # noqa: F401 (selects tf-keras before any part imports TensorFlow)
