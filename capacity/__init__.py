"""The capacity model: assumptions in, QPS, storage, bandwidth, fleet and monthly cost out."""
