"""A tiny SAM built from segment-anything's own modules, registered as the "tiny" architecture.

Importing this module registers "tiny" and "tiny_wide" (a 48-wide encoder, for the
wrong-architecture checks) with `app.models.sam`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

from app.models.sam import register_architecture


def tiny_sam(embed_dim: int = 32, img_size: int = 64, patch: int = 8) -> Sam:
    grid = img_size // patch
    return Sam(
        image_encoder=ImageEncoderViT(
            img_size=img_size, patch_size=patch, embed_dim=embed_dim, depth=1, num_heads=2, mlp_ratio=2,
            out_chans=32, qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=True, window_size=4, global_attn_indexes=(0,)),
        prompt_encoder=PromptEncoder(embed_dim=32, image_embedding_size=(grid, grid),
                                     input_image_size=(img_size, img_size), mask_in_chans=4),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer_dim=32, iou_head_depth=2,
                                 iou_head_hidden_dim=32,
                                 transformer=TwoWayTransformer(depth=1, embedding_dim=32, mlp_dim=64, num_heads=2)),
        pixel_mean=[123.675, 116.28, 103.53], pixel_std=[58.395, 57.12, 57.375],
    ).eval()


def save_checkpoint(folder: Path, seed: int = 0) -> Path:
    """A tiny SAM with seeded random weights, saved as a checkpoint file in `folder`."""
    torch.manual_seed(seed)
    path = Path(folder) / "sam_tiny.pth"
    torch.save(tiny_sam().state_dict(), path)
    return path


register_architecture("tiny", tiny_sam)
register_architecture("tiny_wide", partial(tiny_sam, embed_dim=48))
