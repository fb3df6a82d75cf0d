//! Engine tests with a scripted evaluator: fitness is a fixed function of the phenotype and the
//! budget, so runs are exactly reproducible and a crash can be injected anywhere.

use std::hash::{Hash, Hasher};

use super::*;
use crate::evolve::candidate::{EvalRequest, Evaluation, ModuleCost};
use crate::evolve::runlog::read_log;
use crate::genome::GenomeConfig;
use rand::SeedableRng;

/// Scores a candidate from a hash of its phenotype; fails once `fail_at` evaluations are done.
struct Scripted {
    space: SearchSpace,
    done: usize,
    fail_at: Option<usize>,
    /// (candidate id, warm start, train_s) of every request.
    requests: Vec<(u64, Option<u64>, f64)>,
}

fn hash01(text: &str) -> f64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    (hasher.finish() % 10_000) as f64 / 10_000.0
}

impl Evaluator for Scripted {
    fn evaluate(&mut self, request: EvalRequest<'_>) -> Result<Evaluation, EvalError> {
        if self.fail_at == Some(self.done) {
            return Err(EvalError::new("board disappeared"));
        }
        self.done += 1;
        self.requests.push((request.candidate.id, request.warm_start, request.train_s));
        let ind = &request.candidate.individual;
        let phenotype = ind.phenotype(&self.space).map(|p| p.to_string()).unwrap_or_default();
        if let Err(invalid) = ind.to_netspec(&self.space) {
            return Ok(Evaluation::invalid(invalid.to_string(), phenotype));
        }
        let mut evaluation = Evaluation::invalid("", phenotype.clone());
        evaluation.invalid = None;
        evaluation.fitness = hash01(&phenotype) + request.candidate.budget_s / 100.0;
        evaluation.metrics.insert("accuracy_0".into(), evaluation.fitness);
        evaluation.metrics.insert("accuracy_1".into(), evaluation.fitness);
        evaluation.metrics.insert("energy_1".into(), 1e-3 * (1.0 + hash01(&format!("{phenotype} energy"))));
        for class in 0..3 {
            evaluation
                .metrics
                .insert(format!("accuracy_class{class}_1"), hash01(&format!("{phenotype} class {class}")));
        }
        evaluation.modules = request
            .measure_modules
            .iter()
            .map(|&m| {
                let text = format!("{:?}", ind.modules[m]);
                ModuleCost { module: m, arch_hash: text.clone(), power_w: Some(1.0 + hash01(&text)), energy_j: None }
            })
            .collect();
        evaluation.module_states = request
            .measure_states
            .iter()
            .enumerate()
            .map(|(i, module)| {
                let text = format!("{module:?}");
                ModuleCost { module: i, arch_hash: text.clone(), power_w: Some(1.0 + hash01(&text)), energy_j: None }
            })
            .collect();
        Ok(evaluation)
    }
}

fn config() -> EngineConfig {
    let mutation = MutationRates { reuse_module: 0.5, ..MutationRates::default() };
    EngineConfig {
        generations: 6,
        lambda: 4,
        train_seconds: 1.0,
        seed: 17,
        mutation,
        inherit_weights: true,
        race_margin: None,
        init_draws: 0,
        init_screen_fraction: 0.25,
        seeds: Vec::new(),
        retrain: RetrainRule::Scratch,
        archive: ArchivePolicy::Final,
        strategy: Strategy::OnePlusLambda,
        mu: 4,
        objectives: Objectives::default(),
    }
}

fn space() -> SearchSpace {
    SearchSpace::new(GenomeConfig::small()).expect("bundled grammar")
}

fn scripted(fail_at: Option<usize>) -> Scripted {
    Scripted { space: space(), done: 0, fail_at, requests: Vec::new() }
}

#[test]
fn a_killed_run_resumes_to_the_same_result() {
    let space = space();
    let whole = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::new(&space, config(), scripted(None), whole.path()).expect("engine");
    engine.run(&mut |_| {}).expect("uninterrupted run");
    let expected = engine.state().clone();

    let cut = tempfile::tempdir().expect("tempdir");
    // Dies in the middle of generation 3 (5 evaluations a generation, plus retrains).
    let mut engine = Engine::new(&space, config(), scripted(Some(17)), cut.path()).expect("engine");
    let err = engine.run(&mut |_| {}).expect_err("injected failure");
    assert!(err.to_string().contains("can be resumed"), "{err}");
    let stopped_at = engine.state().generation;
    assert!(stopped_at > 0 && stopped_at < 6);
    drop(engine);

    let mut resumed = Engine::resume(&space, config(), scripted(None), cut.path()).expect("resume");
    assert_eq!(resumed.state().generation, stopped_at);
    resumed.run(&mut |_| {}).expect("resumed run");
    let got = resumed.state();
    assert_eq!(got.parent, expected.parent);
    assert_eq!(got.best, expected.best);
    let (a, b) = (got.archive.entries(), expected.archive.entries());
    let first_diff = a.iter().zip(b).position(|(x, y)| x != y);
    assert!(
        a.len() == b.len() && first_diff.is_none(),
        "archives differ: {} vs {} entries, first difference at {first_diff:?}",
        a.len(),
        b.len()
    );
    let log = |dir: &Path| read_log(&dir.join("log.jsonl")).expect("log");
    assert_eq!(log(cut.path()), log(whole.path()), "the log holds each evaluation once");
}

#[test]
fn generations_have_the_elite_and_lambda_offspring() {
    let space = space();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::new(&space, config(), scripted(None), dir.path()).expect("engine");
    let mut done = Vec::new();
    engine
        .run(&mut |p| {
            if let Progress::GenerationDone { generation, parent } = p {
                done.push((generation, parent.fitness()));
            }
        })
        .expect("run");
    assert_eq!(done.len(), 6);
    let lines = read_log(&dir.path().join("log.jsonl")).expect("log");
    let in_gen = |g: usize, origin: Origin| {
        lines.iter().filter(|l| l.candidate.generation == g && l.candidate.origin == origin).count()
    };
    assert_eq!(in_gen(0, Origin::Random), 4);
    for g in 1..6 {
        assert_eq!(in_gen(g, Origin::Elite), 1, "generation {g}");
        assert_eq!(in_gen(g, Origin::Offspring), 4, "generation {g}");
    }
    // The parent of each generation is the fittest candidate the generation evaluated.
    for (generation, fitness) in &done {
        let best = lines
            .iter()
            .filter(|l| l.candidate.generation == *generation)
            .map(|l| l.candidate.fitness())
            .fold(f64::MIN, f64::max);
        assert_eq!(*fitness, best);
    }
    assert!(!engine.state().archive.entries().is_empty());
    let reused =
        lines.iter().filter(|l| l.candidate.mutation.as_ref().is_some_and(|m| m.reused_module.is_some())).count();
    assert!(reused > 0, "module reuse happened");
}

#[test]
fn a_short_log_is_cut_to_whole_lines_and_rebuilt_from_the_checkpoint() {
    let space = space();
    let dir = tempfile::tempdir().expect("tempdir");
    let short = EngineConfig { generations: 3, ..config() };
    let mut engine = Engine::new(&space, short.clone(), scripted(None), dir.path()).expect("engine");
    engine.run(&mut |_| {}).expect("run");
    let parent_id = engine.state().parent.as_ref().expect("parent").id;
    drop(engine);
    // The disk lost the end of the log, in the middle of a line.
    let path = dir.path().join("log.jsonl");
    let bytes = std::fs::read(&path).expect("log");
    let first_line = bytes.iter().position(|&b| b == b'\n').expect("a line") + 1;
    std::fs::write(&path, &bytes[..first_line + 10]).expect("cut");

    let longer = EngineConfig { generations: 4, ..short };
    let mut resumed = Engine::resume(&space, longer, scripted(None), dir.path()).expect("resume");
    resumed.run(&mut |_| {}).expect("resumed run");
    let text = std::fs::read(&path).expect("log");
    assert!(!text.contains(&0), "no NUL padding");
    let lines = read_log(&path).expect("every line parses");
    assert!(lines.iter().any(|l| l.candidate.id == parent_id), "the checkpoint's parent is rebuilt");
    assert_eq!(resumed.state().log_bytes, text.len() as u64);
}

#[test]
fn a_signal_stops_the_run_between_evaluations_and_it_resumes() {
    static FLAG: AtomicI32 = AtomicI32::new(0);
    let space = space();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::new(&space, config(), scripted(None), dir.path()).expect("engine");
    engine.set_interrupt(&FLAG);
    let mut evaluated = 0;
    let err = engine
        .run(&mut |p| {
            if matches!(p, Progress::Evaluated { .. }) {
                evaluated += 1;
                if evaluated == 7 {
                    FLAG.store(15, Ordering::SeqCst);
                }
            }
        })
        .expect_err("interrupted");
    assert!(matches!(err, EngineError::Interrupted { signal: 15, generation: 1 }), "{err}");
    assert_eq!(engine.state().generation, 1);
    drop(engine);
    let mut resumed = Engine::resume(&space, config(), scripted(None), dir.path()).expect("resume");
    resumed.run(&mut |_| {}).expect("resumed run");
    assert_eq!(resumed.state().generation, 6);
}

#[test]
fn reference_retrains_top_up_from_their_own_weights() {
    let space = space();
    let dir = tempfile::tempdir().expect("tempdir");
    let mutation = MutationRates { train_longer: 0.6, ..MutationRates::default() };
    let config = EngineConfig { generations: 8, mutation, retrain: RetrainRule::Reference, ..config() };
    let mut engine = Engine::new(&space, config, scripted(None), dir.path()).expect("engine");
    engine.run(&mut |_| {}).expect("run");
    let requests = engine.evaluator_mut().requests.clone();
    let log = read_log(&dir.path().join("log.jsonl")).expect("log");
    let retrains: Vec<&Candidate> = log.iter().map(|l| &l.candidate).filter(|c| c.origin == Origin::Retrain).collect();
    assert!(!retrains.is_empty(), "the script gives longer-trained parents, so selection retrains");
    for retrain in retrains {
        let done = retrain.topped_up_from_s.expect("a reference retrain tops up");
        let (_, warm_start, train_s) = requests.iter().find(|r| r.0 == retrain.id).expect("requested");
        assert_eq!(*warm_start, retrain.parent_id, "continues from the candidate it retrains");
        assert!((train_s - (retrain.budget_s - done)).abs() < 1e-9, "trains only the missing budget");
    }
}

#[test]
fn the_reference_keeps_the_fittest_on_ties() {
    let space = space();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let individual = Individual::random(&space, &mut rng).expect("random");
    let scored = |id: u64, fitness: f64| Candidate::scored(id, &individual, fitness, &[]);
    let pick = |p: f64, e: Option<f64>, s: Option<f64>| {
        reference_choice(scored(0, p), e.map(|f| scored(1, f)), s.map(|f| scored(2, f))).id
    };
    assert_eq!(pick(0.5, Some(0.6), Some(0.6)), 0, "a tie between the rivals keeps the fittest");
    assert_eq!(pick(0.5, Some(0.6), Some(0.7)), 2);
    assert_eq!(pick(0.5, Some(0.7), Some(0.6)), 1);
    assert_eq!(pick(0.5, Some(0.5), None), 0, "a tie with the fittest keeps it");
    assert_eq!(pick(0.5, None, Some(0.55)), 2);
}

#[test]
fn the_reference_archive_keeps_every_module_state_with_duplicates() {
    let space = space();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EngineConfig { generations: 4, archive: ArchivePolicy::Reference, ..config() };
    let mut engine = Engine::new(&space, config, scripted(None), dir.path()).expect("engine");
    engine.run(&mut |_| {}).expect("run");
    let log = read_log(&dir.path().join("log.jsonl")).expect("log");
    // what the candidates brought: all modules of the random ones, every state of the offspring
    let mut expected = Vec::new();
    for line in &log {
        let c = &line.candidate;
        if c.evaluation.as_ref().is_none_or(|e| e.invalid.is_some()) {
            continue;
        }
        match c.origin {
            Origin::Random => expected.extend(c.individual.modules.iter().filter(|m| !m.layers.is_empty()).cloned()),
            Origin::Offspring => expected.extend(c.mutation.iter().flat_map(|m| m.module_states.clone())),
            _ => {}
        }
    }
    let archived: Vec<_> = engine.state().archive.entries().iter().map(|e| e.module.clone()).collect();
    assert_eq!(archived, expected, "every state, in order");
    let distinct = archived.iter().enumerate().filter(|(i, m)| !archived[..*i].contains(m)).count();
    assert!(distinct < archived.len(), "duplicates are kept ({distinct} distinct of {})", archived.len());
    assert!(archived.len() > log.len(), "more states than candidates: {} for {}", archived.len(), log.len());
}

fn nsga2_config() -> EngineConfig {
    EngineConfig { strategy: Strategy::Nsga2, mu: 5, lambda: 4, generations: 6, ..config() }
}

#[test]
fn nsga2_keeps_mu_survivors_and_resumes_to_the_same_population() {
    let space = space();
    let whole = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::new(&space, nsga2_config(), scripted(None), whole.path()).expect("engine");
    engine.run(&mut |_| {}).expect("run");
    let expected = engine.state().clone();
    assert_eq!(expected.population.len(), 5, "μ survivors");
    let log = read_log(&whole.path().join("log.jsonl")).expect("log");
    assert_eq!(log.len(), 5 + 5 * 4, "μ in generation 0, then λ a generation, no re-evaluation");
    // survivors are never dominated by a candidate evaluated in the last generation they
    // competed with: the first front of (final population ∪ last offspring) is in the population
    let last: Vec<Candidate> = log.iter().map(|l| l.candidate.clone()).filter(|c| c.generation == 5).collect();
    let mut pool = expected.population.clone();
    pool.extend(last.into_iter().filter(|c| !expected.population.iter().any(|p| p.id == c.id)));
    let objectives = Objectives::default();
    let (rank, _) = nsga2::ranks_and_crowding(&objectives, &pool);
    for (candidate, r) in pool.iter().zip(&rank) {
        if *r == 0 {
            assert!(expected.population.iter().any(|p| p.id == candidate.id), "#{} is on the front", candidate.id);
        }
    }
    // offspring come from tournament winners of the population
    assert!(log.iter().filter(|l| l.candidate.generation > 0).all(|l| l.candidate.parent_id.is_some()));

    let cut = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::new(&space, nsga2_config(), scripted(Some(14)), cut.path()).expect("engine");
    engine.run(&mut |_| {}).expect_err("injected failure");
    drop(engine);
    let mut resumed = Engine::resume(&space, nsga2_config(), scripted(None), cut.path()).expect("resume");
    resumed.run(&mut |_| {}).expect("resumed run");
    assert_eq!(resumed.state().population, expected.population);
    assert_eq!(resumed.state().best, expected.best);
    let log_of = |dir: &Path| read_log(&dir.join("log.jsonl")).expect("log");
    assert_eq!(log_of(cut.path()), log_of(whole.path()));
}

#[test]
fn lexicase_runs_resume_to_the_same_result_and_pick_specialists() {
    let space = space();
    let config = || EngineConfig { strategy: Strategy::Lexicase, generations: 6, ..config() };
    let whole = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::new(&space, config(), scripted(None), whole.path()).expect("engine");
    let mut valid_parents = 0;
    engine
        .run(&mut |p| {
            if let Progress::GenerationDone { parent, .. } = p {
                valid_parents += usize::from(parent.evaluation.as_ref().is_some_and(|e| e.invalid.is_none()));
            }
        })
        .expect("run");
    assert!(valid_parents >= 5, "every parent is a valid candidate");
    let expected = engine.state().clone();
    let log = read_log(&whole.path().join("log.jsonl")).expect("log");
    // some parent was not the fittest of its generation: lexicase chose a specialist
    let chose_other = (1..6).any(|g| {
        let generation: Vec<&Candidate> = log.iter().map(|l| &l.candidate).filter(|c| c.generation == g).collect();
        let fittest = generation.iter().map(|c| c.fitness()).fold(f64::NEG_INFINITY, f64::max);
        let next_parent = log.iter().map(|l| &l.candidate).find(|c| c.generation == g + 1 && c.origin == Origin::Elite);
        next_parent.is_some_and(|p| p.fitness() < fittest)
    });
    assert!(chose_other, "lexicase picked the fittest every time");

    let cut = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::new(&space, config(), scripted(Some(13)), cut.path()).expect("engine");
    engine.run(&mut |_| {}).expect_err("injected failure");
    drop(engine);
    let mut resumed = Engine::resume(&space, config(), scripted(None), cut.path()).expect("resume");
    resumed.run(&mut |_| {}).expect("resumed run");
    assert_eq!(resumed.state().parent, expected.parent);
    let log_of = |dir: &Path| read_log(&dir.join("log.jsonl")).expect("log");
    assert_eq!(log_of(cut.path()), log_of(whole.path()));
}
