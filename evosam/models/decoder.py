"""SAM's prompt encoder and mask decoder as the backend runs them.

``decode_all`` is ``MaskDecoder.predict_masks`` that also returns the upscaled per-pixel
embedding (the head reads SAM's mask as a linear readout of it). ``BoxDecoder`` is the
box-prompt path as one module, so that OpenVINO can compile it (``evosam.models.openvino_cpu``).
Shapes: image embeddings (B, C, h, w) float32; low-resolution maps (B, ., m, m) with m = 4 h,
over the padded square model input.
"""

from __future__ import annotations

import torch


def decode_all(
    prompt_encoder: torch.nn.Module,
    mask_decoder: torch.nn.Module,
    image_emb: torch.Tensor,
    sparse: torch.Tensor,
    dense: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every mask token's logits (B, T, m, m), their predicted IoU (B, T) and the upscaled
    embedding (B, 32, m, m), for prompt embeddings ``sparse`` (B, N, C) and ``dense`` (B, C, h, w)."""
    dec = mask_decoder
    image_emb = image_emb.float()
    tokens = torch.cat([dec.iou_token.weight, dec.mask_tokens.weight], dim=0)
    tokens = torch.cat((tokens[None].expand(sparse.size(0), -1, -1), sparse.to(tokens.dtype)), dim=1)
    src = image_emb + dense
    pos = prompt_encoder.get_dense_pe()
    b, c, h, w = src.shape
    hs, src = dec.transformer(src, pos, tokens)
    mask_tokens_out = hs[:, 1 : 1 + dec.num_mask_tokens, :]
    upscaled = dec.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
    hyper = torch.stack([mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(dec.output_hypernetworks_mlps)], 1)
    masks = (hyper @ upscaled.flatten(2)).view(b, -1, *upscaled.shape[-2:])
    return masks, dec.iou_prediction_head(hs[:, 0, :]), upscaled


class BoxDecoder(torch.nn.Module):
    """One box -> SAM's single-mask answer: ``forward(image_emb (1, C, h, w), box (1, 4) x0 y0 x1 y1
    in model-input pixels)`` -> (logits (1, 1, m, m), IoU (1, 1), upscaled embedding (1, 32, m, m))."""

    def __init__(self, prompt_encoder: torch.nn.Module, mask_decoder: torch.nn.Module) -> None:
        super().__init__()
        self.prompt_encoder, self.mask_decoder = prompt_encoder, mask_decoder

    def forward(self, image_emb: torch.Tensor, box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sparse, dense = self.prompt_encoder(points=None, boxes=box, masks=None)
        masks, iou, upscaled = decode_all(self.prompt_encoder, self.mask_decoder, image_emb, sparse, dense)
        return masks[:, :1], iou[:, :1], upscaled
