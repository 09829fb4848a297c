/// 一事多评 (issue 22, R3 R4 R15): a hall rates one case at several stages (接件, 受理, 办结,
/// 领证 …). Each open of a case at a stage is a **service**, numbered 1, 2, … per case in
/// opening order; R3 is one rating per case and stage. The default list has one stage, which
/// keeps one rating per case.
public enum Stages {
    public static let defaultList = ["办结"]
    public static let defaultMaxServicesPerCase = 8
    /// The stage written into the store for records made before stages existed: it reads as
    /// the first configured stage (the store cannot know the configuration).
    public static let legacy = ""
}
