//! proptest strategies for every wire message: arbitrary values of every field, every variant.
//!
//! Floats include NaN and infinities on purpose (the wire must carry them bit for bit), so
//! round trips compare postcard bytes rather than `PartialEq`.

use proptest::prelude::*;
use wattevo_proto::*;

pub fn hash() -> impl Strategy<Value = ModelHash> {
    any::<[u8; 32]>().prop_map(ModelHash)
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn shape() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 0..6)
}

fn sensor_kind() -> impl Strategy<Value = SensorKind> {
    prop_oneof![Just(SensorKind::Ina219), Just(SensorKind::EmulatedIna219), Just(SensorKind::PowerModel)]
}

fn measure_request() -> impl Strategy<Value = MeasureRequest> {
    let counts = (any::<u32>(), any::<u32>(), any::<u32>(), any::<u16>(), any::<u16>(), any::<u32>(), any::<u32>());
    (hash(), shape(), any::<u64>(), counts, any::<f32>(), any::<f32>()).prop_map(
        |(hash, input_shape, input_seed, c, target_ci_pct, idle_mismatch_pct)| MeasureRequest {
            hash,
            input_shape,
            input_seed,
            protocol: MeasureProtocol {
                warmup_runs: c.0,
                min_runs: c.1,
                min_duration_ms: c.2,
                min_repetitions: c.3,
                max_repetitions: c.4,
                target_ci_pct,
                idle_window_ms: c.5,
                idle_mismatch_pct,
            },
            thermal_wait_ms: c.6,
        },
    )
}

/// Any host → device message.
pub fn host_to_device() -> impl Strategy<Value = HostToDevice> {
    prop_oneof![
        (any::<u16>(), text()).prop_map(|(protocol_version, host_version)| HostToDevice::Hello(HelloRequest {
            protocol_version,
            host_version
        })),
        any::<u32>().prop_map(|nonce| HostToDevice::Ping(PingRequest { nonce })),
        (hash(), any::<u32>(), any::<u16>()).prop_map(|(hash, total_bytes, chunk_bytes)| {
            HostToDevice::UploadBegin(UploadBeginRequest { hash, total_bytes, chunk_bytes })
        }),
        (hash(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..=usize::from(MAX_CHUNK_BYTES)))
            .prop_map(|(hash, index, bytes)| HostToDevice::UploadChunk(UploadChunkRequest { hash, index, bytes })),
        (hash(), any::<u32>())
            .prop_map(|(hash, crc32)| HostToDevice::UploadCommit(UploadCommitRequest { hash, crc32 })),
        measure_request().prop_map(HostToDevice::Measure),
        any::<u32>().prop_map(|duration_ms| HostToDevice::ReadSensor(ReadSensorRequest { duration_ms })),
        (hash(), shape()).prop_map(|(hash, input_shape)| HostToDevice::Explain(ExplainRequest { hash, input_shape })),
        measure_request().prop_map(|m| HostToDevice::Calibrate(CalibrateRequest { protocol: m.protocol })),
    ]
}

fn sensor_info() -> impl Strategy<Value = SensorInfo> {
    let floats = (any::<f32>(), any::<f32>(), any::<f32>(), any::<f32>());
    (sensor_kind(), any::<u8>(), any::<u8>(), floats, any::<u16>(), text()).prop_map(
        |(kind, i2c_bus, i2c_address, f, calibration, adc_mode)| SensorInfo {
            kind,
            i2c_bus,
            i2c_address,
            shunt_ohms: f.0,
            max_current_a: f.1,
            current_lsb_a: f.2,
            calibration,
            adc_mode,
            bus_voltage_v: f.3,
        },
    )
}

fn cpu_info() -> impl Strategy<Value = CpuInfo> {
    (text(), text(), any::<u16>(), text(), text(), any::<u16>()).prop_map(
        |(arch, model, cores, kernel, governor, tract_threads)| CpuInfo {
            arch,
            model,
            cores,
            kernel,
            governor,
            tract_threads,
        },
    )
}

fn hello_response() -> impl Strategy<Value = HelloResponse> {
    let versions = (any::<u16>(), text(), text(), text(), text());
    (versions, sensor_info(), cpu_info(), any::<u32>(), any::<u16>()).prop_map(
        |(v, sensor, cpu, max_model_bytes, max_chunk_bytes)| HelloResponse {
            protocol_version: v.0,
            agent_version: v.1,
            tract_version: v.2,
            board_name: v.3,
            sensor,
            cpu,
            max_model_bytes,
            max_chunk_bytes,
            twin: v.4,
        },
    )
}

fn upload_state() -> impl Strategy<Value = UploadState> {
    prop_oneof![
        Just(UploadState::Loaded),
        (any::<u32>(), any::<u32>()).prop_map(|(next_chunk, received)| UploadState::Receiving { next_chunk, received }),
    ]
}

fn rep_stats() -> impl Strategy<Value = RepStats> {
    (any::<f64>(), any::<f64>(), any::<f64>()).prop_map(|(mean, std, ci95)| RepStats { mean, std, ci95 })
}

fn measurement() -> impl Strategy<Value = Measurement> {
    let idle = (any::<f64>(), any::<f64>(), any::<f64>(), any::<bool>());
    let stats = (rep_stats(), rep_stats(), rep_stats(), rep_stats());
    let latency = (any::<f64>(), any::<f64>(), any::<f64>());
    let stop = prop_oneof![Just(StopReason::CiReached), Just(StopReason::MaxRepetitions)];
    let counts = (any::<u64>(), any::<u16>(), stop, any::<u64>(), any::<f64>(), any::<u64>());
    let board = (any::<f32>(), any::<f32>(), any::<f32>(), any::<u32>());
    (hash(), sensor_kind(), idle, stats, latency, counts, board).prop_map(|(hash, sensor, i, s, l, c, b)| Measurement {
        hash,
        sensor,
        idle_before_w: i.0,
        idle_after_w: i.1,
        idle_power_w: i.2,
        idle_mismatch: i.3,
        total_power_w: s.0,
        dynamic_power_w: s.1,
        energy_per_inference_j: s.2,
        dynamic_energy_per_inference_j: s.3,
        latency_mean_us: l.0,
        latency_p50_us: l.1,
        latency_p99_us: l.2,
        inferences: c.0,
        repetitions: c.1,
        stop_reason: c.2,
        samples: c.3,
        sample_rate_hz: c.4,
        missed_deadlines: c.5,
        cpu_utilisation_cores: b.0,
        temperature_start_c: b.1,
        temperature_end_c: b.2,
        throttled_flags: b.3,
    })
}

fn sensor_reading() -> impl Strategy<Value = SensorReadingResponse> {
    let floats = (any::<f64>(), any::<f64>(), any::<f64>(), any::<f64>());
    (sensor_kind(), floats, any::<u64>()).prop_map(|(sensor, f, samples)| SensorReadingResponse {
        sensor,
        bus_voltage_v: f.0,
        current_a: f.1,
        power_w: f.2,
        samples,
        sample_rate_hz: f.3,
    })
}

/// Any typed error code, every variant.
pub fn wire_error() -> impl Strategy<Value = WireError> {
    prop_oneof![
        Just(WireError::BadFrame),
        (any::<u16>(), any::<u16>()).prop_map(|(agent, host)| WireError::VersionMismatch { agent, host }),
        (any::<u32>(), any::<u32>()).prop_map(|(announced, max)| WireError::ModelTooLarge { announced, max }),
        Just(WireError::UnknownUpload),
        (any::<u32>(), any::<u32>()).prop_map(|(index, chunks)| WireError::ChunkOutOfRange { index, chunks }),
        any::<u32>().prop_map(|missing_chunk| WireError::UploadIncomplete { missing_chunk }),
        Just(WireError::ChecksumMismatch),
        Just(WireError::InvalidModel),
        Just(WireError::UnknownModel),
        Just(WireError::InputShapeMismatch),
        Just(WireError::RunFailed),
        Just(WireError::SensorFault),
        Just(WireError::BadRequest),
        Just(WireError::Internal),
        Just(WireError::NoTwin),
        (any::<u64>(), any::<u64>()).prop_map(|(needed, limit)| WireError::MemoryExceeded { needed, limit }),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(run_us, projected_ms, limit_ms)| WireError::TooSlow {
            run_us,
            projected_ms,
            limit_ms
        }),
    ]
}

/// Any device → host message.
pub fn device_to_host() -> impl Strategy<Value = DeviceToHost> {
    prop_oneof![
        hello_response().prop_map(DeviceToHost::Hello),
        any::<u32>().prop_map(|nonce| DeviceToHost::Pong(PingResponse { nonce })),
        (hash(), upload_state())
            .prop_map(|(hash, state)| DeviceToHost::UploadStatus(UploadStatusResponse { hash, state })),
        (hash(), any::<u32>()).prop_map(|(hash, index)| DeviceToHost::ChunkAck(ChunkAckResponse { hash, index })),
        (hash(), any::<u64>(), shape(), shape()).prop_map(|(hash, load_us, input_shape, output_shape)| {
            DeviceToHost::Committed(CommittedResponse { hash, load_us, input_shape, output_shape })
        }),
        measurement().prop_map(DeviceToHost::Measurement),
        sensor_reading().prop_map(DeviceToHost::SensorReading),
        (wire_error(), "\\PC{0,60}").prop_map(|(error, detail)| DeviceToHost::Error(ErrorResponse { error, detail })),
        (hash(), text(), any::<u16>(), proptest::collection::vec(op_cost(), 0..4))
            .prop_map(|(hash, twin, threads, ops)| DeviceToHost::Explanation(Explanation { hash, twin, threads, ops })),
    ]
}

fn op_cost() -> impl Strategy<Value = OpCost> {
    (text(), text(), any::<u64>(), any::<u64>(), any::<f64>(), any::<f64>(), any::<f64>()).prop_map(
        |(name, kind, macs, dram_bytes, time_us, energy_uj, dynamic_energy_uj)| OpCost {
            name,
            kind,
            macs,
            dram_bytes,
            time_us,
            energy_uj,
            dynamic_energy_uj,
        },
    )
}

/// Any envelope around a message from `msg`.
pub fn envelope<M: std::fmt::Debug>(msg: impl Strategy<Value = M>) -> impl Strategy<Value = Envelope<M>> {
    (any::<u32>(), msg).prop_map(|(seq, msg)| Envelope { seq, msg })
}
