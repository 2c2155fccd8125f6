"""Operations endpoints: health probes (``/health/live``, ``/health/ready``) and ``/metrics``."""
