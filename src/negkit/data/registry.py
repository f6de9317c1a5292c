"""The known data sets: where they live, where they come from, how to load and count them.

Each :class:`Dataset` maps a name onto its folder under :func:`negkit.data.data_home`
(the layout of the shared data folder: ``recsys/gowalla``, ``graphs/cora``, ...),
the files it needs, its download sources and a loader.  Checksums are the sha256 of
the files as stored in the shared data folder (its MANIFEST.md); a source without a
published checksum is marked ``sha256=None`` and its download is logged as unverified.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from negkit.data import loaders
from negkit.data.errors import DataMissingError
from negkit.data.paths import data_home

log = logging.getLogger(__name__)

__all__ = ["Dataset", "Remote", "DATASETS", "names", "get", "locate", "load", "info", "fetch"]

KINDS = ("text", "interactions", "graph", "word_eval", "ner", "kg")


@dataclass(frozen=True)
class Remote:
    """One download: ``url`` -> ``target`` (a file in the data set's folder, or an archive).

    sha256 / md5 / size : of the downloaded bytes; ``None`` when no checksum is published.
    members : for archives, member name -> file name in the folder (``{}``: every file).
    """

    url: str
    target: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    members: dict[str, str] | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str
    folder: str
    files: tuple[str, ...]
    description: str
    source: str
    licence: str
    remotes: tuple[Remote, ...] = ()
    #: sha256 of files as they must end up in the folder (checked after download/unpack)
    checksums: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    #: why a source cannot be fetched, or caveats of its sources
    note: str = ""
    #: converts downloaded raw files into ``files`` (e.g. Planetoid pickles -> npz)
    post: Callable[[Path], None] | None = None
    #: ``loader(ds, folder, **kwargs)``: Interactions, Graph or a file path
    loader: Callable[..., Any] | None = None
    #: ``counter(ds, folder)``: the counts that ``negkit data info`` prints
    counter: Callable[[Dataset, Path], dict] | None = None

    def path(self) -> Path:
        return data_home(create=False) / self.folder

    def missing(self) -> list[str]:
        """Required files that are absent from the folder (compressed copies count)."""
        folder = self.path()
        return [f for f in self.files if loaders.find_file(folder, f) is None]


# ------------------------------------------------------------------ sources
_GH = "https://raw.githubusercontent.com"
_LIGHTGCN = f"{_GH}/kuandeng/LightGCN/b067ec05f16a24e0e1efe63cd82385f0c469af20/Data"
_LIGHTGCN_PT = f"{_GH}/gusye1234/LightGCN-PyTorch/947ca2b3b1d2d3545b114145710cb06c4e57b3d2/data"
_GRECX = "https://github.com/maenzhier/grecx_datasets/raw/408a608130c78647f454b1f0a644fc3e2eee9aeb"
_LGCNPP = f"{_GH}/geon0325/LightGCNpp/a394f79a7aceb8f485f6bcb549b4865fe83f1d49/data/ml-1m"
_GCN = f"{_GH}/tkipf/gcn/39a4089fe72ad9f055ed6fdb9746abdcfebc4d81/gcn/data"
_DEEPWALK = f"{_GH}/phanein/deepwalk/6e6dff245e4692e9bea47e9017c1034e51afbf29/example_graphs"
_OPENNE = f"{_GH}/thunlp/OpenNE/8d1677706f3e6141de6bce41c6002c55c4304afa/data"
_WORDSIM = (
    f"{_GH}/mfaruqui/eval-word-vectors/94b3dd9fdbac7ed08dbee7179cd5ee464acf0594/data/word-sim"
)
_GENSIM = f"{_GH}/piskvorky/gensim/4.4.0/gensim/test/test_data"
_GROUPLENS = "https://files.grouplens.org/datasets/movielens"
_WNUT = f"{_GH}/leondz/emerging_entities_17/e52a2d2a71ac1a051ca2d532eef28653c5c02603"
_KGE = (
    f"{_GH}/DeepGraphLearning/KnowledgeGraphEmbedding/2e440e0f9c687314d5ff67ead68ce985dc446e3a/data"
)
_STRUC2VEC = f"{_GH}/leoribeiro/struc2vec/77b4cc63e79a37b1496f340c7772d932038417ec/graph"

_SHA = {  # sha256 of the files as stored in the shared data folder (MANIFEST.md)
    "gowalla/train.txt": "7244696fdeb23911319cf7b689f2e15a3c4c92549c873a5677b44e3f13cc3e62",
    "gowalla/test.txt": "099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3",
    "gowalla/user_list.txt": "5344c4d0deef610e1f148f23ad216a0db03b36f88834cd39a06786a672c5f5a1",
    "gowalla/item_list.txt": "6b186f92890cc3f0c15a6dae5d6285f125a302bb8c5ea0cd9a16cf9c16347139",
    "ml-1m/train.txt": "dfa3a7a866feade29ca5722ac0423c1b0317ac1f6ad38a55fc1a7ceeb9cee3bb",
    "ml-1m/valid.txt": "429fe0d750b304677898d7eeb1080764bbf06550b94c9508b8cc8cd0573e3dfc",
    "ml-1m/test.txt": "0d58f78bbf606f401aec2efe3f519b945c458c8398955f986e03b880fbbd16a6",
    "ml-100k/u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    # sha256 of the *decompressed* shared .gz copies (gzip -9 -n of the original bytes)
    "yelp2018/train.txt": "1e9568725a9e833d0ac3bae01c94cd95367f73b3bb6104fd26b5f65ea5054093",
    "yelp2018/test.txt": "9cd9b37926cd1447a06625ffa7914527573fb097c10cb0bbdb1d1b8ded3742fe",
    "yelp2018/user_list.txt": "4931519d8b3c40d71a34cc386c3287b6d63c1be9a82edd7ee6bfad765e640778",
    "yelp2018/item_list.txt": "1091bc824b60561906df552f2f7cb3ec61767b1e46fd4386b44400ae49712007",
    "amazon-book/test.txt": "6250754994dd953b91b48dccdd77a73f318e0634b4757c2abfcc9d33a54ab0f5",
    "amazon-book/user_list.txt": "b59cc7e4a1826e1eb313c4f0557bdafbb70661346d9c93911b97fe0e9fbd7078",
    "amazon-book/item_list.txt": "8eee6caf6e666d95fc24ca8e0ec089ee90b1b2d1dc17933726359a6b3ecd62cb",
    "cora": "7cb428f1db10fca35f2ff8fa321279e7118c8e3f41d186a0f11a77fb6954eb83",
    "citeseer": "69924148cf8142eb080b6753a221c18cd7ad55bba77772b65e96171a78432021",
    "pubmed": "f7c6a0ecf5441dc6ace1394a530a3b777d7d87736675978ec5f8f03bcce88135",
    "blogcatalog": "d4f4fb89ce1ccd4b7e2a183386c000773cc9362cc61f1be5b246a6d9c259da8f",
    "ppi": "8a32b88b0576276f02d7aaa3fd282e8617a3e6db8d39abb6212a283363bf1183",
    "pos": "b40977b48dec1d5016af0f6d5d2bce6f1c1037ccab948c2bbe324cea16754835",
    "karate": "f4ff0d1d42fa2e475515993f82e2f38decec36708f74b7635694a85418ab984f",
    "gnutella": "4189a66f54b4af8bfe133edb23035593764fd779b2141ebf0a3168297a5cc948",
    "wiki_edges": "72fccd28e5a927a752b6fbf38c971884b0a783dd124c5e8e2c9e27ac7bdd84f5",
    "wiki_labels": "600541ba4563097b1e1796b6b0ffa110f17a0e71b1ac7e5c66dc11c512077774",
    "airports_brazil": (
        "896b7bd460ad2da9160888d99bc9099ffe8ed7de3e410833889ea393831bcaa7",
        "8f9d19f10192fbaeb91dfb46dd7eae0fef28bfe1272d41ab96a4494a0d06785f",
    ),
    "airports_europe": (
        "bd202178d0d1253c15bd3c9a22cc2a25f630244bbef9060bc30adbf0a5e130f6",
        "92bace031cc02937ac9629d6c69387458e5d5016a7dab98490fbf33e392cec4e",
    ),
    "airports_usa": (
        "c73fec3eef27ed6d6ef4d8dfa7fd1604b959601a38d399eeaa1f87e8d8d58fc0",
        "d4062ff3b3a67c3ae72b581bb68228433223e35d6f0b2d41844d197ad3772195",
    ),
    "ws_all": "ce12919b240af45bdf46d243601eaca2b6212b159b5e7e9b435ee7ee40c5619c",
    "ws_rel": "66a7c88100624d0a391605ff61ce84e11d11ee620d51ec0298da49592838f8fa",
    "ws_sim": "f1da938998863c94e53f72f984a5c6e215f0b46c323aae8f0f4930703a339107",
    "simlex": "405394ffb7d25f6d0e3c041f87c9f27d29dc6b047506769953e85c4523b11685",
    "analogy": "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
    "wnut17train.conll": "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5",
    "emerging.dev.conll": "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8",
    "emerging.test.annotated": "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0",
    # knowledge graphs: sha256 of the decompressed files (the shared train.txt.gz etc. are
    # gzip -9 -n copies; the sources serve the plain files)
    "wn18rr/train.txt": "038612e783c215ee5f3ca9fbfca27b8d0739be1028fe4ee7c174aecf0b83d5df",
    "wn18rr/valid.txt": "453ce7202afa58094a04d2b1560ee2b02660f1c260b32ce6651c8ccedd1028ab",
    "wn18rr/test.txt": "0383bceaaa1096cf3c03ec021ed0048068e2355dbfc0239b292cefdac821cec5",
    "wn18rr/Wordnet3.0-LICENSE": "6c3c1815039b91dc01bdf39efa5d959fbb951d62a434e763310464d24d751c1c",
    "fb15k237/train.txt": "6e4c2782169af21e9743f3b1d200886f5d595bf6bc504ec1351720949c5cdfae",
    "fb15k237/valid.txt": "cf6309010852f6a8d47a45df830a426415d1ee6f7a3970a8376ff1fb81db4a5c",
    "fb15k237/test.txt": "5711cf41623ceb4eacc50eb6108a3ca6565c7492e3caaf82a3e355cc660d1574",
}


def _planetoid(name: str, title: str, note: str = "") -> Dataset:
    raw = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")
    return Dataset(
        name, "graph", f"graphs/{name}", (f"{name}_planetoid.npz",),
        f"{title} citation graph, Planetoid split (Yang et al. 2016; Kipf & Welling 2017)",
        "tkipf/gcn gcn/data/ind.*, converted to one npz", "MIT (tkipf/gcn)",
        tuple(Remote(f"{_GCN}/ind.{name}.{m}", f"raw/ind.{name}.{m}") for m in raw),
        note=note or f"the pickles have no published checksum; the shared copy of the npz has "
        f"sha256 {_SHA[name]}, but a fresh conversion is not byte-identical (zip metadata)",
        post=loaders.planetoid_post(name),
    )  # fmt: skip


# ------------------------------------------------------------------ the table
DATASETS: dict[str, Dataset] = {}


def _add(ds: Dataset, loader: Callable[..., Any], counter: Callable[[Dataset, Path], dict]) -> None:
    if ds.kind not in KINDS:
        raise ValueError(f"unknown kind {ds.kind!r}")
    DATASETS[ds.name] = replace(ds, loader=loader, counter=counter)


_add(Dataset("text8", "text", "text8", ("text8",),
         "First 10^8 bytes of English Wikipedia, cleaned (Mahoney); word2vec's demo corpus",
         "http://mattmahoney.net/dc/textdata.html",
         "none stated by the source; derived from English Wikipedia text",
         (Remote("http://mattmahoney.net/dc/text8.zip", "text8.zip", members={"text8": "text8"}),),
         note="no checksum is published for text8.zip: the download is checked by its size only "
              "(text8 is 100,000,000 bytes)"),
     loaders.load_path, loaders.info_corpus)  # fmt: skip
_add(Dataset("text_corpus_en", "text", "text_corpus_en", ("en_corpus_5m.txt.xz",),
         "English corpus (5.3M tokens, text8-style normalised) from NLTK corpora and a gensim "
         "Wikipedia excerpt; stands in for text8", "built for negkit's shared data folder",
         "mixed: Brown and Penn Treebank non-commercial; see MANIFEST.md", aliases=("corpus",),
         checksums={"en_corpus_5m.txt.xz":
                    "afbe57041921320149b96f1c74423b68dda7e81843f520126b1f239054bf290b"},
         note="assembled from several corpora; there is no single official download"),
     loaders.load_path, loaders.info_corpus)  # fmt: skip
_add(Dataset("ml-100k", "interactions", "recsys/ml-100k", ("u.data",),
         "MovieLens 100K: 100,000 ratings of 1,682 movies by 943 users (Harper & Konstan 2015)",
         f"{_GROUPLENS}/ml-100k.zip", "GroupLens research licence: no redistribution",
         (Remote(f"{_GROUPLENS}/ml-100k.zip", "ml-100k.zip", members={}),),
         {"u.data": _SHA["ml-100k/u.data"]}, aliases=("movielens-100k", "ml100k"),
         note="GroupLens publishes no sha256 of the zip: u.data is verified after unpacking"),
     loaders.load_movielens, loaders.info_movielens)  # fmt: skip
_add(Dataset("ml-1m", "interactions", "recsys/ml-1m", ("ratings.dat",),
         "MovieLens 1M: 1,000,209 ratings by 6,040 users (Harper & Konstan 2015)",
         f"{_GROUPLENS}/ml-1m.zip", "GroupLens research licence: no redistribution",
         (Remote(f"{_GROUPLENS}/ml-1m.zip", "ml-1m.zip", members={}),),
         aliases=("movielens-1m", "ml1m"),
         note="no checksum is published for ml-1m.zip: the download is unverified"),
     loaders.load_movielens, loaders.info_movielens)  # fmt: skip
_add(Dataset("gowalla", "interactions", "recsys/gowalla", ("train.txt", "test.txt"),
         "Gowalla check-ins, LightGCN/NGCF split (Wang et al. 2019; He et al. 2020)",
         "kuandeng/LightGCN Data/gowalla; train.txt from maenzhier/grecx_datasets",
         "none stated (SNAP loc-Gowalla)",
         (Remote(f"{_GRECX}/gowalla/light_gcn_gowalla.zip", "light_gcn_gowalla.zip",
                 members={"light_gcn_gowalla/train.txt": "train.txt"}),
          *(Remote(f"{_LIGHTGCN}/gowalla/{f}", f, sha256=_SHA[f"gowalla/{f}"])
            for f in ("test.txt", "user_list.txt", "item_list.txt"))),
         {"train.txt": _SHA["gowalla/train.txt"]}),
     loaders.load_lightgcn, loaders.info_lightgcn)  # fmt: skip
_AMAZON_TRAIN_MD5 = "c916ecac04ca72300a016228258b41ed"  # published by reczoo/Datasets
for _name, _title in (("yelp2018", "Yelp 2018"), ("amazon-book", "Amazon-Book")):
    _add(Dataset(_name, "interactions", f"recsys/{_name}", ("train.txt", "test.txt"),
             f"{_title}, LightGCN/NGCF split (Wang et al. 2019; He et al. 2020)",
             f"gusye1234/LightGCN-PyTorch data/{_name}", "none stated",
             (Remote(f"{_LIGHTGCN_PT}/{_name}/train.txt", "train.txt",
                     md5=_AMAZON_TRAIN_MD5 if _name == "amazon-book" else None,
                     sha256=_SHA.get(f"{_name}/train.txt")),
              *(Remote(f"{_LIGHTGCN_PT}/{_name}/{f}", f, sha256=_SHA[f"{_name}/{f}"])
                for f in ("test.txt", "user_list.txt", "item_list.txt"))),
             aliases=(("yelp",) if _name == "yelp2018" else ("amazon_book", "amazon")),
             note="yelp2018's train.txt is checked against the sha256 of the LightGCN file (git "
                  "blob cda1236, as in junkangwu/BSL); amazon-book's against reczoo's md5"),
         loaders.load_lightgcn, loaders.info_lightgcn)  # fmt: skip
_add(Dataset("ml-1m_lightgcnpp", "interactions", "recsys/ml-1m_lightgcnpp",
         ("train.txt", "valid.txt", "test.txt"),
         "MovieLens 1M as implicit feedback, LightGCN++ train/valid/test split (Lee et al. 2024)",
         "geon0325/LightGCNpp data/ml-1m", "GroupLens research licence: no redistribution",
         tuple(Remote(f"{_LGCNPP}/{f}", f, sha256=_SHA[f"ml-1m/{f}"])
               for f in ("train.txt", "valid.txt", "test.txt")),
         aliases=("ml1m_lightgcnpp",)),
     loaders.load_lightgcn, loaders.info_lightgcn)  # fmt: skip
for _name, _title in (("cora", "Cora"), ("citeseer", "CiteSeer"), ("pubmed", "PubMed")):
    _add(_planetoid(_name, _title), loaders.load_planetoid, loaders.info_graph)
_add(Dataset("blogcatalog", "graph", "graphs/blogcatalog", ("blogcatalog.mat",),
         "BlogCatalog social network, 39 interest groups (Tang & Liu 2009)",
         "phanein/deepwalk example_graphs", "DeepWalk repository: GNU Library GPL v3, as stated",
         (Remote(f"{_DEEPWALK}/blogcatalog.mat", "blogcatalog.mat", sha256=_SHA["blogcatalog"]),),
         aliases=("blog",)),
     loaders.load_mat, loaders.info_graph)  # fmt: skip
_add(Dataset("ppi", "graph", "graphs/ppi", ("Homo_sapiens.mat",),
         "Protein-protein interactions (Homo sapiens), 50 labels, as prepared by node2vec",
         "thunlp/OpenNE data/PPI", "MIT (OpenNE); BioGRID",
         (Remote(f"{_OPENNE}/PPI/Homo_sapiens.mat", "Homo_sapiens.mat", sha256=_SHA["ppi"]),)),
     loaders.load_mat, loaders.info_graph)  # fmt: skip
_add(Dataset("wikipedia_pos", "graph", "graphs/wikipedia_pos", ("POS.mat",),
         "Wikipedia word co-occurrence network, 40 POS labels, as prepared by node2vec",
         "thunlp/OpenNE data/Wikipedia", "MIT (OpenNE)",
         (Remote(f"{_OPENNE}/Wikipedia/POS.mat", "POS.mat", sha256=_SHA["pos"]),),
         aliases=("pos", "wikipedia")),
     loaders.load_mat, loaders.info_graph)  # fmt: skip
_add(Dataset("karate", "graph", "graphs/karate", ("karate.adjlist",),
         "Zachary's karate club (1977), 34 nodes, 78 edges", "phanein/deepwalk example_graphs",
         "DeepWalk repository: GNU Library GPL v3, as stated",
         (Remote(f"{_DEEPWALK}/karate.adjlist", "karate.adjlist", sha256=_SHA["karate"]),)),
     loaders.load_karate, loaders.info_graph)  # fmt: skip
_add(Dataset("p2p_gnutella08", "graph", "graphs/p2p_gnutella08", ("p2p-Gnutella08.edgelist",),
         "SNAP Gnutella peer-to-peer network (directed), 8 August 2002",
         "phanein/deepwalk example_graphs",
         "DeepWalk repository: GNU Library GPL v3, as stated; SNAP",
         (Remote(f"{_DEEPWALK}/p2p-Gnutella08.edgelist", "p2p-Gnutella08.edgelist",
                 sha256=_SHA["gnutella"]),)),
     loaders.load_gnutella, loaders.info_graph)  # fmt: skip
_add(Dataset("openne_wiki", "graph", "graphs/openne_wiki",
             ("Wiki_edgelist.txt", "Wiki_category.txt"),
         "Wiki document network, 2,405 pages in 17 categories (OpenNE)", "thunlp/OpenNE data/wiki",
         "MIT (OpenNE)",
         (Remote(f"{_OPENNE}/wiki/Wiki_edgelist.txt", "Wiki_edgelist.txt",
                 sha256=_SHA["wiki_edges"]),
          Remote(f"{_OPENNE}/wiki/Wiki_category.txt", "Wiki_category.txt",
                 sha256=_SHA["wiki_labels"]))),
     loaders.load_openne_wiki, loaders.info_graph)  # fmt: skip
for _region, _title in (("brazil", "Brazil"), ("europe", "Europe"), ("usa", "USA")):
    _edges, _labels = f"{_region}-airports.edgelist", f"labels-{_region}-airports.txt"
    _sha_e, _sha_l = _SHA[f"airports_{_region}"]
    _add(Dataset(f"airports_{_region}", "graph", f"graphs/airports_{_region}", (_edges, _labels),
             f"{_title} air-traffic network, 4 activity classes (struc2vec, Ribeiro et al. 2017)",
             "leoribeiro/struc2vec graph/", "MIT (leoribeiro/struc2vec license.md)",
             (Remote(f"{_STRUC2VEC}/{_edges}", _edges, sha256=_sha_e),
              Remote(f"{_STRUC2VEC}/{_labels}", _labels, sha256=_sha_l)),
             aliases=(f"{_region}-airports", f"{_region}_airports")),
         loaders.load_airports, loaders.info_graph)  # fmt: skip
_add(Dataset("wordsim353", "word_eval", "word_eval/wordsim353",
         ("EN-WS-353-ALL.txt", "EN-WS-353-SIM.txt", "EN-WS-353-REL.txt"),
         "WordSim-353 (Finkelstein et al. 2002) with the similarity/relatedness splits "
         "(Agirre et al. 2009)", "mfaruqui/eval-word-vectors data/word-sim", "MIT (repository)",
         (Remote(f"{_WORDSIM}/EN-WS-353-ALL.txt", "EN-WS-353-ALL.txt", sha256=_SHA["ws_all"]),
          Remote(f"{_WORDSIM}/EN-WS-353-SIM.txt", "EN-WS-353-SIM.txt", sha256=_SHA["ws_sim"]),
          Remote(f"{_WORDSIM}/EN-WS-353-REL.txt", "EN-WS-353-REL.txt", sha256=_SHA["ws_rel"])),
         aliases=("ws353",)),
     loaders.load_path, loaders.info_word_eval)  # fmt: skip
_add(Dataset("simlex999", "word_eval", "word_eval/simlex999", ("EN-SIMLEX-999.txt",),
         "SimLex-999 word similarity (Hill, Reichart & Korhonen 2015)",
         "mfaruqui/eval-word-vectors data/word-sim", "MIT (repository)",
         (Remote(f"{_WORDSIM}/EN-SIMLEX-999.txt", "EN-SIMLEX-999.txt", sha256=_SHA["simlex"]),),
         aliases=("simlex",)),
     loaders.load_path, loaders.info_word_eval)  # fmt: skip
_add(Dataset("google_analogy", "word_eval", "word_eval/google_analogy", ("questions-words.txt",),
         "Google analogy questions, 19,544 in 14 sections (Mikolov et al. 2013)",
         "gensim 4.4.0 gensim/test/test_data", "LGPL-2.1 (gensim)",
         (Remote(f"{_GENSIM}/questions-words.txt", "questions-words.txt",
                 sha256=_SHA["analogy"]),),
         aliases=("analogy", "questions-words")),
     loaders.load_path, loaders.info_word_eval)  # fmt: skip
_add(Dataset("wnut17", "ner", "ner/wnut17",
             ("wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated"),
         "WNUT-17 emerging and rare entities: English social-media NER, BIO over 6 types "
         "(Derczynski et al., W-NUT 2017)", "leondz/emerging_entities_17", "CC BY 4.0",
         tuple(Remote(f"{_WNUT}/{f}", f, sha256=_SHA[f])
               for f in ("wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated")),
         aliases=("wnut_17", "wnut"),
         note="load(split='train'|'dev'|'test') gives negkit.data.conll.NERData; the test "
              "split is emerging.test.annotated (one gold tag per token)"),
     loaders.load_ner, loaders.info_ner)  # fmt: skip
_KG_SPLITS = ("train.txt", "valid.txt", "test.txt")
_add(Dataset("wn18rr", "kg", "kg/wn18rr", (*_KG_SPLITS, "Wordnet3.0-LICENSE"),
         "WN18RR: WordNet 3.0 triples without WN18's inverse-relation leaks, 40,943 entities, "
         "11 relations (Dettmers et al. 2018)",
         "DeepGraphLearning/KnowledgeGraphEmbedding data/wn18rr (= TimDettmers/ConvE WN18RR)",
         "MIT (repositories); WordNet 3.0 licence, Princeton University: its notice must "
         "appear on all copies (Wordnet3.0-LICENSE, fetched with the triples)",
         (*(Remote(f"{_KGE}/wn18rr/{f}", f, sha256=_SHA[f"wn18rr/{f}"]) for f in _KG_SPLITS),
          Remote(f"{_KGE}/wn18/Wordnet3.0-LICENSE", "Wordnet3.0-LICENSE",
                 sha256=_SHA["wn18rr/Wordnet3.0-LICENSE"])),
         aliases=("wn18-rr",)),
     loaders.load_kg, loaders.info_kg)  # fmt: skip
_add(Dataset("fb15k237", "kg", "kg/fb15k237", _KG_SPLITS,
         "FB15k-237: Freebase triples without near-duplicate and inverse relations, 14,541 "
         "entities, 237 relations (Toutanova & Chen 2015)",
         "DeepGraphLearning/KnowledgeGraphEmbedding data/FB15k-237 (= TimDettmers/ConvE "
         "FB15k-237.tar.gz)",
         "MIT (repositories); no licence is stated for the Freebase data",
         tuple(Remote(f"{_KGE}/FB15k-237/{f}", f, sha256=_SHA[f"fb15k237/{f}"])
               for f in _KG_SPLITS),
         aliases=("fb15k-237",), note="lines end in CRLF (the reader strips it)"),
     loaders.load_kg, loaders.info_kg)  # fmt: skip
# text8 has a known size: check it after unpacking.
_TEXT8_SIZE = 100_000_000

_ALIASES = {a: ds.name for ds in DATASETS.values() for a in ds.aliases}


# ------------------------------------------------------------------ public API
def names() -> list[str]:
    """Names of the known data sets, in registry order."""
    return list(DATASETS)


def get(name: str) -> Dataset:
    """The :class:`Dataset` called ``name`` (or one of its aliases)."""
    key = name.strip().lower() if isinstance(name, str) else name
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        if isinstance(name, (str, Path)) and ("/" in str(name) or Path(name).suffix):
            if Path(name).exists():
                kind = "folder" if Path(name).is_dir() else "file"
                raise ValueError(
                    f"{name} is a {kind}, not a known data set (see `negkit data list`)"
                )
            raise FileNotFoundError(
                f"{name}: no such file or folder (nor a known data set: see `negkit data list`)"
            )
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)} "
                         "(see `negkit data list`)")  # fmt: skip
    return DATASETS[key]


def locate(name: str) -> Path:
    """The data set's folder; raises :class:`DataMissingError` when a required file is absent."""
    ds = get(name)
    folder = ds.path()
    missing = ds.missing()
    if missing:
        detail = "folder absent" if not folder.is_dir() else f"missing {', '.join(missing)}"
        raise DataMissingError(ds.name, folder, detail)
    return folder


def load(name: str, kind: str | None = None, **kwargs: Any) -> Any:
    """Load a data set: :class:`Interactions`, :class:`Graph`, or the path of a corpus/eval file.

    ``kind`` (e.g. ``"graph"``): a ValueError naming the data set's own kind when it differs.
    Other keyword arguments go to the loader (e.g. ``split="ratio", seed=1`` for MovieLens).
    """
    ds = get(name)
    if kind is not None and ds.kind != kind:
        raise ValueError(f"{ds.name} holds {ds.kind} data, not {kind} data")
    folder = ds.path()
    if not folder.is_dir():
        raise DataMissingError(ds.name, folder, "folder absent")
    return ds.loader(ds, folder, **kwargs)


def info(name: str) -> dict:
    """Counts of a data set as one JSON-able dict (what ``negkit data info`` prints)."""
    ds = get(name)
    folder = ds.path()
    if not folder.is_dir():
        raise DataMissingError(ds.name, folder, "folder absent")
    out = ds.counter(ds, folder)
    json.dumps(out)  # fail here, not in the CLI, if a value is not JSON-able
    return out


def fetch(name: str, force: bool = False, timeout: float = 60.0) -> Path:
    """Download a data set into its folder, verify checksums, unpack; returns the folder.

    Files already present (and matching their checksum, when one is known) are kept
    unless ``force``.  Raises :class:`~negkit.data.downloads.FetchError` when offline and
    :class:`~negkit.data.downloads.ChecksumError` on a mismatch.
    """
    from negkit.data.downloads import FetchError, download, unpack, verify_file

    ds = get(name)
    if not ds.remotes:
        raise FetchError(f"{ds.name} cannot be downloaded: {ds.note or 'no known source'}")
    folder = data_home() / ds.folder
    if not force and not ds.missing() and _verified(ds, folder):
        log.info("%s: already in %s", ds.name, folder)
        return folder
    for r in ds.remotes:
        dest = folder / r.target
        archive = r.members is not None
        if not force and not archive and dest.is_file():
            try:
                verify_file(dest, r.sha256, r.md5, r.size)
                continue
            except FetchError:
                log.info("%s: %s does not match its checksum; downloading again", ds.name, dest)
        download(r.url, dest, r.sha256, md5=r.md5, size=r.size, timeout=timeout)
        if archive:
            unpack(dest, folder, r.members or None)
            dest.unlink()
    if ds.post is not None:
        ds.post(folder)
    for fname, sha in ds.checksums.items():
        verify_file(folder / fname, sha)
    if ds.name == "text8":
        verify_file(folder / "text8", size=_TEXT8_SIZE)
    missing = ds.missing()
    if missing:
        raise FetchError(f"{ds.name}: still missing {missing} in {folder} after download")
    return folder


def _verified(ds: Dataset, folder: Path) -> bool:
    from negkit.data.downloads import ChecksumError, verify_file

    try:
        for fname, sha in ds.checksums.items():
            verify_file(folder / fname, sha)
    except (ChecksumError, FileNotFoundError):
        return False
    return True
