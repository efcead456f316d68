# Helper functions copied into generated torchmetrics modules (torch only), each only where the metric uses it.
# They mirror helpers_tf.py and helpers_keras.py: keep the three files' functions in step. Keep each
# helper self-contained.
import torch


def _weights_like(values, sample_weight, dtype):
    """sample_weight broadcast to the shape of `values` the way Keras broadcasts it."""
    if sample_weight is None:
        return torch.ones_like(values, dtype=dtype)
    weights = _weights_of_rank(sample_weight, values, dtype)
    weights = weights.reshape(
        tuple(weights.shape) + (1,) * (values.dim() - weights.dim())
    )
    return torch.broadcast_to(weights, values.shape)


def _weighted_sum(values, sample_weight):
    """Σ values·w with Keras-style broadcasting of w (Σ values without weights)."""
    if sample_weight is None:
        return torch.sum(values)
    return torch.sum(values * _weights_like(values, sample_weight, values.dtype))


def _weighted_count(values, sample_weight, dtype):
    """Σ w over the elements of `values` (their number without weights)."""
    if sample_weight is None:
        return torch.scalar_tensor(
            values.numel(), dtype=dtype, device=values.device
        )  # one op; tensor() is three
    return torch.sum(_weights_like(values, sample_weight, dtype))


def _samplewise_sum(values, sample_weight):
    """Σ over samples of w·(the sample's mean over its trailing axes), step by step as keras.metrics.Mean
    sums it (reduce_to_samplewise_values): a scalar weight weighs the batch's mean."""
    if sample_weight is not None:
        weights = _weights_of_rank(sample_weight, values, values.dtype)
        if values.dim() > weights.dim():
            values = torch.mean(values, dim=tuple(range(weights.dim(), values.dim())))
        values = values * torch.broadcast_to(weights, values.shape)
    if values.dim() > 1:
        values = torch.mean(values, dim=tuple(range(1, values.dim())))
    return torch.sum(values)


def _samplewise_count(values, sample_weight, dtype):
    """Σ of the samples' weights, as keras.metrics.Mean counts: the number of samples without weights, each
    sample's mean weight with weights of the values' shape, a scalar weight once."""
    if sample_weight is None:
        return torch.scalar_tensor(
            values.shape[0] if values.dim() else 1, dtype=dtype, device=values.device
        )
    weights = _weights_of_rank(sample_weight, values, dtype)
    weights = torch.broadcast_to(weights, values.shape[: weights.dim()])
    if weights.dim() > 1:
        weights = torch.mean(weights, dim=tuple(range(1, weights.dim())))
    return torch.sum(weights)


def _weights_of_rank(sample_weight, values, dtype):
    """sample_weight as Keras brings it beside `values` (a last axis of 1 beyond their rank dropped)."""
    weights = torch.as_tensor(sample_weight, dtype=dtype, device=values.device)
    if weights.dim() == values.dim() + 1 and weights.shape[-1] == 1:
        return weights.squeeze(-1)
    return weights


def _match_rank(value, reference, offset=0):
    """`value` brought to the rank of `reference` (plus `offset`, 0 or -1) as Keras brings labels: a last axis
    of 1 dropped, or (offset 0) added."""
    if value.dim() == reference.dim() + offset + 1 and value.shape[-1] == 1:
        return value.squeeze(-1)
    if offset == 0 and value.dim() + 1 == reference.dim() and reference.shape[-1] == 1:
        return value.unsqueeze(-1)
    return value


def _divide_no_nan(a, b):
    """a / b, and 0 where b is 0 (as tf.math.divide_no_nan)."""
    # in place on the quotient, a new tensor of the broadcast shape: three ops, where torch.where(b == 0, 0.0,
    # a / b) makes four (the 0.0 becomes a tensor on every call)
    return (a / b).masked_fill_(b == 0, 0.0)


def _extreme(x, axis, keepdims, largest, bounds=None):
    """torch.amax (amin) over `axis` (None: every axis), and of nothing the lowest (highest) value of x's dtype (or
    of `bounds`, an int dtype x stands for), as tf.reduce_max (min) gives: torch raises there.
    """
    dims = () if axis is None else axis
    if x.numel() > 0:
        return (torch.amax if largest else torch.amin)(x, dim=dims, keepdim=keepdims)
    reduced = {
        d % x.dim()
        for d in ((dims,) if isinstance(dims, int) else dims or range(x.dim()))
    }
    shape = [
        1 if i in reduced else n
        for i, n in enumerate(x.shape)
        if keepdims or i not in reduced
    ]
    if x.dtype.is_floating_point:
        bound = -float("inf") if largest else float("inf")
    else:
        limits = torch.iinfo(x.dtype if bounds is None else bounds)
        bound = limits.min if largest else limits.max
    return torch.full(shape, bound, dtype=x.dtype, device=x.device)


def _prod(x, axis, keepdims):
    """torch.prod over `axis` (None: every axis; a tuple of them too, which torch.prod does not take)."""
    dims = (
        range(x.dim()) if axis is None else (axis,) if isinstance(axis, int) else axis
    )
    for d in sorted({d % max(x.dim(), 1) for d in dims}, reverse=True):
        x = torch.prod(x, dim=d, keepdim=keepdims)
    return x


def _cumsum(x, axis, reverse, exclusive):
    """tf.cumsum in torch: `reverse` sums from the end, `exclusive` leaves each element out."""
    if reverse:
        x = torch.flip(x, dims=[axis])
    out = torch.cumsum(x, dim=axis)
    # (an empty axis has no first element to shift in)
    if exclusive and out.shape[axis]:
        out = torch.cat(
            [
                torch.zeros_like(out.narrow(axis, 0, 1)),
                out.narrow(axis, 0, out.shape[axis] - 1),
            ],
            dim=axis,
        )
    return torch.flip(out, dims=[axis]) if reverse else out


def _shifted_ids(segment_ids, num_segments):
    """The ids shifted by one, as int64: those below 0 go to 0 and those past the end to num_segments + 1, two
    extra segments a sum then drops (two ops, where a mask of the out-of-range ids took four).
    """
    return segment_ids.long().clamp(-1, num_segments) + 1


def _bucketize(x, edges, ascending):
    """How many of `edges` are at or below each x (NaN past them all, as torch.bucketize puts it). Edges not
    known to ascend are sorted first: the count does not depend on their order, the binary search does.
    """
    edges = edges if edges.dim() == 1 else edges.reshape(-1)
    if not ascending:
        edges = torch.sort(edges).values
    return torch.bucketize(x, edges, right=True)


def _count_ids(ids, length, dtype):
    """tf.math.bincount in torch: how many times each of 0..length-1 occurs in ids (others dropped), as dtype."""
    return _count_shifted(_shifted_ids(ids, length), length, dtype)


def _count_shifted(shifted, length, dtype):
    """_count_ids of ids already shifted (_shifted_ids)."""
    ids = shifted if shifted.dim() == 1 else shifted.reshape(-1)
    # one pass without weights; on CUDA bincount syncs with the host (see _sum_by_shifted). Counted in int64
    # either way: float ones added one at a time stop growing at 2**24 (float32; bfloat16 at 256)
    if ids.device.type == "cpu":
        counts = torch.bincount(ids, minlength=length + 2)
    else:
        counts = torch.zeros(length + 2, dtype=torch.int64, device=ids.device)
        counts.index_add_(0, ids, torch.ones_like(ids))
    return counts[1 : length + 1].to(dtype)


def _sum_of_ones(x, dim, keepdim, dtype):
    """torch.sum of ones of x's shape over dim, without the ones: each element the number of
    x's elements it counts (past 2**24 rounded once, where a float32 sum stalls)."""
    if dim is None:
        dims = range(x.dim())
    else:
        ndim, dims = max(x.dim(), 1), []
        for d in (dim,) if isinstance(dim, int) else dim:
            # torch.sum's errors: an axis out of range, or one named twice
            if not -ndim <= d < ndim:
                raise IndexError(
                    f"Dimension out of range (expected in [{-ndim}, {ndim - 1}], got {d})"
                )
            if d % ndim in dims:
                raise RuntimeError(
                    f"dim {d % ndim} appears multiple times in the list of dims"
                )
            dims.append(d % ndim)
    count, shape = 1, []
    for d, n in enumerate(x.shape):
        if d not in dims:
            shape.append(n)
        else:
            count *= n
            if keepdim:
                shape.append(1)
    return torch.full(shape, count, dtype=dtype, device=x.device)


def _segment_sum(data, segment_ids, num_segments):
    """tf.math.unsorted_segment_sum in torch: ids of any rank (a prefix of data's shape), ids outside
    0..num_segments-1 dropped."""
    return _sum_by_shifted(data, _shifted_ids(segment_ids, num_segments), num_segments)


def _sum_by_shifted(data, shifted, num_segments):
    """_segment_sum of ids already shifted (_shifted_ids)."""
    ids = shifted if shifted.dim() == 1 else shifted.reshape(-1)
    # one float per id on the CPU, without a gradient to keep: bincount makes one pass where zeros + index_add make
    # two (half the time on a batch of 1,024). On CUDA it reads the ids' range back to the host on every call (a
    # sync, and no CUDA graph); MPS and XLA have no weighted version
    one_float_per_id = (
        data.dim() == shifted.dim()
        and data.is_floating_point()
        and not data.requires_grad
    )
    if one_float_per_id and data.device.type == "cpu":
        weights = data if data.dim() == 1 else data.reshape(-1)
        out = torch.bincount(ids, weights=weights, minlength=num_segments + 2)
        return out[1 : num_segments + 1].to(data.dtype)
    data = data.reshape((ids.numel(),) + tuple(data.shape[shifted.dim() :]))
    # index_add adds one value at a time, and a sum of ones stops growing at 2**24 in float32 (2048 in float16,
    # 256 in bfloat16): a sum of that many values is taken in float64, as bincount sums its weights
    floating = data.is_floating_point()
    most = 2 / torch.finfo(data.dtype).eps if floating else None
    total = torch.float64 if floating and ids.numel() >= most else data.dtype
    out = torch.zeros(
        (num_segments + 2,) + tuple(data.shape[1:]),
        dtype=total,
        device=data.device,
    )
    summed = out.index_add(0, ids, data.to(total))[1 : num_segments + 1]
    return summed.to(data.dtype)


def _one_hot(indices, depth, dtype):
    """tf.one_hot in torch: rows of zeros for indices outside 0..depth-1."""
    return (indices.unsqueeze(-1) == torch.arange(depth, device=indices.device)).to(
        dtype
    )


def _gather(x, indices, axis):
    """tf.gather in torch: the entries of x at `indices` (of any shape) along `axis`."""
    axis = axis % x.dim()
    # one axis of indices, the common case, needs neither reshape (a dispatch each)
    if indices.dim() == 1:
        return torch.index_select(x, axis, indices.long())
    picked = torch.index_select(x, axis, indices.reshape(-1).long())
    return picked.reshape(
        tuple(x.shape[:axis]) + tuple(indices.shape) + tuple(x.shape[axis + 1 :])
    )


def _transpose(x, perm=None):
    """tf.transpose in torch: axes permuted, reversed by default."""
    return x.permute(tuple(range(x.dim() - 1, -1, -1)) if perm is None else tuple(perm))


def _first_process(values):
    """dist_reduce_fx of an assigned state: the first process's value (Keras' "only_first_replica")."""
    return values[0]


def _in_top_k(targets, predictions, k):
    """tf.math.in_top_k in torch: fewer than k scores strictly above the target's (ties count in), and False
    for a target out of range or a row with a non-finite score."""
    in_range = (targets >= 0) & (targets < predictions.shape[-1])
    index = torch.where(in_range, targets, torch.zeros_like(targets)).long()
    target_score = torch.gather(predictions, -1, index.unsqueeze(-1))
    finite = torch.isfinite(predictions).all(-1)
    return in_range & finite & ((predictions > target_score).sum(-1) < k)


def _argsort(x, axis, descending):
    """torch.argsort(x, dim=axis, descending=descending, stable=True), the same indices, faster where torch can
    sort by radix: its CPU sort takes a radix sort for one axis of 32,768 or more integers in ascending order,
    and a comparison sort otherwise (12 times slower for 65,536 floats). A float axis is sorted by integers of
    the same order (its bits, the negatives' flipped; NaN above +inf, -0.0 equal to 0.0, as torch orders
    them), a descending one by their complement (the order reversed, without overflow), and the rows of a
    larger tensor one by one."""
    x = x.contiguous()
    if not _radix_sortable(x, axis):
        return torch.argsort(x, dim=axis, descending=descending, stable=True)
    if x.dim() > 1:
        rows = torch.movedim(x, axis, -1)
        flat = rows.reshape(-1, rows.shape[-1])
        order = torch.stack([_argsort(row, 0, descending) for row in flat])
        return torch.movedim(order.reshape(rows.shape), -1, axis)
    key = x
    if x.is_floating_point():
        single = x.dtype == torch.float32
        bits, sign = (torch.int32, 31) if single else (torch.int64, 63)
        # one NaN, and 0.0 for -0.0: torch sorts every NaN as one value, and both zeros as one
        ordered = torch.where(torch.isnan(x), float("nan"), x + 0.0).view(bits)
        key = ordered ^ ((ordered >> sign) & ((1 << sign) - 1))
    return torch.argsort(~key if descending else key, stable=True)


def _radix_sortable(x, axis):
    """Whether _argsort sorts x along `axis` by integer keys: a CPU axis long enough for torch's radix sort, of
    a dtype that has the keys, in a tensor holding something."""
    kinds = (torch.float32, torch.float64, torch.int32, torch.int64)
    return (
        x.dim() > 0
        and x.numel() > 0
        and x.shape[axis] >= 32768
        and x.device.type == "cpu"
        and x.dtype in kinds
    )


def _sort(x, axis, descending):
    """torch.sort(x, dim=axis, descending=descending).values, by _argsort's indices where those are faster."""
    if not _radix_sortable(x, axis):
        return torch.sort(x.contiguous(), dim=axis, descending=descending).values
    return torch.take_along_dim(x, _argsort(x, axis, descending), dim=axis)


def _rankdata(x, axis):
    """scipy.stats.rankdata's average ranks along `axis` (1 for the smallest, ties share the mean of theirs). A
    NaN's rank is NaN and ranks above every number, +inf too (scipy's nan_policy="omit"). Each value's first
    place among the sorted values and the place after its last: found by binary search, or where the axis is
    long enough to sort by radix (_argsort), from the runs of equal values in one sort (6 times faster at
    65,536; slower at 1,024)."""
    rows = torch.movedim(x, axis, -1)
    size = rows.shape[-1]
    if not _radix_sortable(rows, -1):
        numbers = rows.contiguous()
        ordered = torch.sort(numbers).values
        # torch sorts NaN last: read back whether a row ends in one (a sync on CUDA, as torchmetrics' own ties
        # loop), so that rows of numbers, the common case, skip the four ops that take NaN's places out
        has_nan = size and bool(torch.isnan(ordered[..., -1]).any())
        nan = torch.isnan(rows) if has_nan else None
        if nan is not None:
            # searched for as +inf, the NaNs then taken off +inf's places (a binary search cannot step over NaN)
            numbers = torch.where(nan, float("inf"), numbers)
            ordered = torch.sort(numbers).values
        first = torch.searchsorted(ordered, numbers)
        after = torch.searchsorted(ordered, numbers, right=True)
        if nan is not None:
            after = torch.minimum(after, size - torch.sum(nan, -1, keepdim=True))
        ranks = (first + after + 1).to(x.dtype) / 2
        if nan is not None:
            ranks = torch.where(nan, rows, ranks)
        return torch.movedim(ranks, -1, axis)
    # torch sorts NaN last, and no NaN equals another: each NaN is a run of its own
    order = _argsort(rows, -1, False)
    ordered = torch.take_along_dim(rows, order, dim=-1)
    differs = ordered[..., 1:] != ordered[..., :-1]
    starts = torch.nn.functional.pad(differs, (1, 0), value=True)
    ends = torch.nn.functional.pad(differs, (0, 1), value=True)
    place = torch.arange(size, device=rows.device)
    first = torch.cummax(torch.where(starts, place, 0), dim=-1).values
    after = torch.where(ends, place + 1, size).flip(-1)
    after = torch.cummin(after, dim=-1).values.flip(-1)
    means = (first + after + 1).to(x.dtype) / 2
    ranks = torch.empty_like(means).scatter_(-1, order, means)
    return torch.movedim(torch.where(torch.isnan(rows), rows, ranks), -1, axis)


def _check_batch_size(metric, name, value, axis, state, expected):
    """_check_size for a batch (torch's sizes are always known); returns the batch, as the other targets do."""
    _check_rank(metric, name, value.dim(), axis, state)
    _check_size(metric, name, axis, value.shape[axis], state, expected)
    return value


def _check_list_size(metric, param, entries, name, value, axis):
    """_check_entries for a batch (torch's sizes are always known); returns the batch, as the other targets do."""
    _check_entries(metric, param, entries, name, value.shape[axis], axis)
    return value


def _append_rows(buffer, rows, values, metric, name, capacity=None):
    """The sample buffer `buffer` with `values` (a batch of rows) written after the `rows` it holds, and its
    new row count; more rows than it keeps are a ValueError (torch's sizes are known). `capacity`: the most
    rows a buffer that grows as rows come keeps (None: it was made at its capacity).
    """
    values = torch.as_tensor(values, dtype=buffer.dtype, device=buffer.device)
    if values.dim() != buffer.dim() or values.shape[1:] != buffer.shape[1:]:
        raise ValueError(
            f"{metric}: the rows appended to `{name}` have shape {tuple(values.shape[1:])}, but it keeps rows of "
            f"shape {tuple(buffer.shape[1:])}"
        )
    held, count = int(rows), values.shape[0]
    capacity = buffer.shape[0] if capacity is None else capacity
    if held + count > capacity:
        raise _past_capacity(metric, name, capacity)
    if held == 0 and count > buffer.shape[0]:
        # the first rows of a buffer that grows: a copy of them (they may be the caller's, or another metric's)
        return values.clone(), torch.as_tensor(
            count, dtype=rows.dtype, device=rows.device
        )
    if held + count > buffer.shape[0]:
        # it grows at least twofold (to its capacity at most): a batch costs what its rows cost, amortised, and
        # a reset one that holds few rows does not cost its capacity (100,000 rows by default)
        buffer = _at_capacity(
            buffer[:held], min(capacity, max(held + count, 2 * buffer.shape[0]))
        )
    elif buffer.is_inference() and not torch.is_inference_mode_enabled():
        # in place, as torchmetrics updates its own states: a copy would cost the whole buffer on every batch
        # (torchmetrics' forward and sync work on copies of the states they cache). A buffer made under
        # torch.inference_mode (a reset in a validation loop) cannot be written outside it: that one is copied once
        buffer = buffer.clone()
    buffer[held : held + count] = values
    return buffer, torch.as_tensor(held + count, dtype=rows.dtype, device=rows.device)


def _rows_read(rows, capacity, metric, name):
    """How many rows compute reads of a sample buffer that holds `rows` and keeps `capacity`: those it holds, at
    least one (a row of 0, which the result ignores, where a sort or cumulative sum of no rows would fail), at
    most its capacity. More than it keeps (rows copied in by a MetricCollection's compute group, from a metric
    of a larger bound) are the error an update would have raised.
    """
    held = int(rows)
    if held > capacity:
        raise _past_capacity(metric, name, capacity)
    return min(capacity, max(held, 1))


def _past_capacity(metric, name, capacity):
    """The error of more rows than a sample buffer keeps (never a value from some of them)."""
    return ValueError(
        f"{metric}: the sample buffer `{name}` keeps {capacity} rows, and was given more"
    )


def _at_capacity(buffer, capacity):
    """The rows of `buffer` followed by rows of 0, `capacity` rows in all (the buffer itself where it has them)."""
    if buffer.shape[0] == capacity:
        return buffer
    grown = torch.zeros(
        (capacity,) + tuple(buffer.shape[1:]), dtype=buffer.dtype, device=buffer.device
    )
    grown[: buffer.shape[0]] = buffer
    return grown


def _gathered_rows(buffer, rows, metric, name):
    """A sample buffer as one process holds it: after torchmetrics' sync each process's buffer and row count
    come stacked ([processes, capacity, ...], [processes]); their rows are appended in process order.
    """
    merged, held = torch.zeros_like(buffer[0]), torch.zeros_like(rows[0])
    for part, count in zip(buffer, rows):
        merged, held = _append_rows(merged, held, part[: int(count)], metric, name)
    return merged, held


def _batch_flatten(x):
    """x as [its first axis, the product of the others] (a batch of none included, which -1 cannot size)."""
    return x.flatten(1) if x.dim() > 1 else x.reshape(-1, 1)
