"""The worked example's words in Korean, in the lecture's vocabulary (the project's own sentences).

Terms as the lecture documents use them: 인코더/디코더, 은닉층, 평균 μ, 로그 분산 log σ², 표준 편차 σ,
재매개변수화(재파라미터화) 트릭, 잠재 변수 z, 복원 손실(강의 004의 '재구성손실'), KL 발산, 총손실,
역전파, 가중치/바이어스. Same keys and the same numbers, in the same order, as :mod:`.text_en`.
"""

LANGUAGE = "한국어"

TEXT: dict[str, str] = {
    "title_lecture": "강의의 손계산 예제 (강의 모드: 강의처럼 σ̃ = round(σ, 2))",
    "title_exact": "강의의 손계산 예제 (정확 모드: σ = exp(½·log σ²), 반올림 없음)",
    "given": "강의에 주어진 값:",
    "reconstructed": "채워 넣은 값 [R] (강의 본문에 없음; 강의가 적은 숫자를 그대로 다시 만들어 냄):",
    "forward": "순전파",
    "backward": "역전파 (강의에 없는 부분: L = 복원 손실 + KL, 배치 하나)",
    "backward_lecture": ("강의 모드: 아래 기울기는 z를 실제로 뽑은 정규분포의 손실 L = 복원 손실 + KL (ii)를 "
                         "log σ̃²로 미분한 것이며, 반올림은 바꾸지 않고 그대로 로그 분산 출력층으로 넘긴다 "
                         "(반올림 자체의 도함수는 거의 모든 곳에서 0)"),
    "adam": ("Adam 한 걸음 (lr = {lr}, betas 0.9, 0.999, eps 1e-8; 첫 걸음에서는 m̂ = g, v̂ = g² 이므로 "
             "각 가중치가 기울기 부호의 반대 방향으로 약 lr 만큼 움직인다)"),
    "loss_change": "손실 {before} -> {after}",
    "lecture_value": "강의: {value} {mark}",
    "mark_ok": "✓",
    "mark_rounded": "≈, 강의는 σ를 반올림함",
    "mark_wrong": "✗, 정오표 참조",
    "errata_title": "정오표 (문서 004; 모든 숫자는 tinyvae.lecture.errata.errata가 계산)",
    "errata_what": "항목",
    "errata_line": "줄",
    "errata_lecture": "강의",
    "errata_fixed": "(i) 강의 공식, 수정",
    "errata_sampled": "(ii) N(μ, σ̃²)",
    "errata_exact": "(iii) 정확한 σ",
    "errata_note": "- {what} ({line}번째 줄: '{quote}'): {note}",
}

NOTES: dict[str, str] = {
    "h": "인코더: 활성화 함수 없는 선형층 하나; h는 은닉층의 값",
    "eps": "강의에 없음; 강의의 z, μ, σ̃에서 바로 나온다",
    "logvar": "채워 넣은 로그 분산 출력층 [R]: 강의의 log σ²를 내는 여러 가중치 중 하나",
    "std_exact": "강의가 반올림하기 전의 표준 편차",
    "std": "강의는 z를 샘플링하기 전에 σ를 소수 둘째 자리로 반올림한다",
    "z": "재매개변수화 트릭: ε를 고정하면 잠재 변수 z, 즉 N(μ, σ̃²)의 샘플이 μ와 σ̃의 함수가 된다",
    "x_hat": "채워 넣은 디코더 [R]: 활성화 함수 없는 선형층이며 강의의 x̂를 정확히 낸다",
    "recon_loss": "복원 손실: 각 오차의 제곱, 그다음 그 합",
    "kl_lecture": ("강의 자신의 공식과 숫자에서 부호와 계산만 고친 값: 반올림 안 한 log σ²와 반올림한 σ̃²가 "
                   "섞여 있어 어떤 정규분포의 KL도 아니다"),
    "logvar_rounded": "강의가 실제로 샘플링한 정규분포의 로그 분산",
    "kl": "z를 실제로 뽑은 정규분포와 사전분포 N(0, 1) 사이의 KL 발산; 아래 기울기는 이 값의 기울기",
    "kl_exact": "반올림 없는 σ로 계산한 정확한 KL: --exact가 계산하는 값",
    "total": "총손실, 강의의 마지막 줄",
    "dW_d": "외적",
    "dmu_recon": "∂z/∂μ = 1",
    "dlogvar_recon": "∂σ/∂log σ² = ½σ",
    "dmu": "μ로 들어오는 두 경로: z를 거치는 길과 KL을 거치는 길",
    "dlogvar": "로그 분산으로 들어오는 두 경로: z를 거치는 길과 KL을 거치는 길",
    "dh": "h는 두 출력층에 모두 들어가므로 두 기울기를 더한다",
    "dx": "인코더의 입력으로서의 x; 복원의 목표로서의 x는 상수",
    "adam_new": "Adam의 첫 걸음",
    "total_after": "한 걸음 뒤: 같은 x, 같은 ε, 반올림 없는 σ",
}

ERRATA: dict[str, tuple[str, str]] = {
    "sign": ("닫힌 형태 KL의 부호",
             "닫힌 형태는 -½·Σ(…); +½이면 강의의 괄호 값으로 KL이 음수가 되는데, KL은 음수가 될 수 없다"),
    "mix": ("log σ²와 σ̃²의 혼용",
            "반올림 안 한 log σ² 옆에 반올림한 σ̃²: 둘을 함께 가진 정규분포는 없으므로 이 줄은 KL이 아니다"),
    "bracket1": ("첫째 괄호, 1 + log σ₁² - μ₁²", "0.9964는 1 - 0.002 - 0.0016: 0.02의 소수점 자리를 잘못 씀"),
    "var1": ("첫째 괄호, σ₁²", "0.9817은 0.9801 + 0.0016 = σ̃₁² + μ₁²: μ₁²를 한 번 더 뺌"),
    "var2": ("둘째 괄호, σ₂²", "1.0408은 1.0404 + 0.0004 = σ̃₂² + μ₂²: μ₂²를 한 번 더 뺌"),
    "sum": ("괄호의 합", "괄호 값은 -0.0017과 -0.0008이지 0.0147과 -0.0012가 아니다"),
    "kl": ("KL 발산", "(i)은 강의의 줄을 고친 값, (ii)는 실제로 샘플링한 분포의 KL, (iii)은 정확한 값"),
    "total": ("총손실", "복원 손실 1.485605는 맞다; 거기에 더한 KL이 틀렸다"),
    "log_mu2": ("로그 분산의 기호", "오타: 출력층이 내는 것은 log σ²이지 log(μ²)가 아니다"),
    "psi": ("평균의 기호", "같은 계산을 조금 뒤에서 다시 적을 때는 μ라고 부른다"),
    "o_of_x": ("KL의 정의", "표기: 두 번째 분포는 Q"),
}
